/* status.c - status messages and error details. */
#include "tanxiao.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *tx_strerror(int status)
{
    switch (status) {
#define TX_STATUS_CASE_(name, code, msg)                                                   \
    case (code):                                                                           \
        return msg;
        TX_STATUS_MAP(TX_STATUS_CASE_)
#undef TX_STATUS_CASE_
    }
    return "unknown status";
}

int tx_err_set(tx_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

int tx_err_prefix(tx_err *err, const char *fmt, ...)
{
    if (!err)
        return 0;
    char head[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    snprintf(err->msg, sizeof err->msg, "%s: %.*s", head, (int)(sizeof old - sizeof head - 3), old);
    return err->code;
}
