/* h5zstd_plugin.c - exports the zstd filter class (h5zstd.c) as an HDF5 dynamically loaded
 * filter, so that h5dump, h5py and any other HDF5 program read our files when
 * HDF5_PLUGIN_PATH points at the directory holding this library. */
#include "h5io.h"

#include <H5PLextern.h>

H5PL_type_t H5PLget_plugin_type(void)
{
    return H5PL_TYPE_FILTER;
}

const void *H5PLget_plugin_info(void)
{
    return tx_h5z_zstd_class;
}
