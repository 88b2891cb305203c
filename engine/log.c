/* log.c - log records as text or JSON lines (log.h). */
#define _GNU_SOURCE /* fopencookie */
#include "log.h"

#include "tanxiao.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const tx_log_params TX_LOG_PARAMS_DEFAULT = {.fd = 2, .level = TX_LOG_INFO, .json = 0};

static const char *const level_json[] = {"error", "warning", "info", "debug"};
static const char *const level_text[] = {"ERROR", "WARN", "INFO", "DEBUG"};

void tx_log_init(tx_logger *lg, const tx_log_params *p)
{
    lg->p = p ? *p : TX_LOG_PARAMS_DEFAULT;
}

int tx_log_enabled(const tx_logger *lg, tx_log_level level)
{
    return lg && level <= lg->p.level;
}

const char *tx_log_level_name(tx_log_level level)
{
    return level >= TX_LOG_ERROR && level <= TX_LOG_DEBUG ? level_json[level] : "unknown";
}

int tx_log_level_parse(const char *s)
{
    for (int i = 0; i <= TX_LOG_DEBUG; i++)
        if (s && strcmp(s, level_json[i]) == 0)
            return i;
    return -1;
}

/* ---- a bounded output buffer: appends never overrun, the last bytes are kept for "..." -- */

typedef struct {
    char *b;
    size_t cap, n; /* n < cap always: room for the terminating NUL */
    int cut;
} obuf;

static void put(obuf *o, const char *s, size_t len)
{
    size_t room = o->cap - 1 - o->n;
    if (len > room) {
        len = room;
        o->cut = 1;
    }
    memcpy(o->b + o->n, s, len);
    o->n += len;
    o->b[o->n] = '\0';
}

/* Appends all of s or, when it does not fit, nothing (and marks the buffer cut): escape
 * sequences and UTF-8 characters are never split. */
static void put_whole(obuf *o, const char *s, size_t len)
{
    if (o->cut || len > o->cap - 1 - o->n) {
        o->cut = 1;
        return;
    }
    put(o, s, len);
}

static void puts_(obuf *o, const char *s)
{
    put(o, s, strlen(s));
}

static void putf(obuf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(obuf *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0)
        put(o, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not one
 * (overlong forms, surrogates and code points above U+10FFFF are invalid). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned min;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (n < len)
        return 0;
    unsigned cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

/* A JSON string: the opening quote and the body, with quotes, backslashes and control
 * characters escaped and invalid UTF-8 replaced by U+FFFD; the caller closes it. Stops at
 * a character boundary when the buffer is full (marked cut). */
static void put_json_string(obuf *o, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    put_whole(o, "\"", 1);
    for (size_t i = 0; i < n && !o->cut;) {
        unsigned c = u[i];
        size_t len = 1;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put_whole(o, e, 2);
        } else if (c == '\n')
            put_whole(o, "\\n", 2);
        else if (c == '\t')
            put_whole(o, "\\t", 2);
        else if (c == '\r')
            put_whole(o, "\\r", 2);
        else if (c < 0x20 || c == 0x7F) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put_whole(o, e, 6);
        } else if ((len = utf8_len(u + i, n - i)) == 0) {
            put_whole(o, "\\ufffd", 6);
            len = 1;
        } else
            put_whole(o, s + i, len);
        i += len;
    }
}

/* Text values are written bare unless they contain a space, '=', a quote or a control
 * character; then quoted with the JSON rules, so a line splits back unambiguously. */
static void put_text_value(obuf *o, const char *s)
{
    int plain = *s != '\0';
    for (const char *c = s; *c && plain; c++)
        if (*c == ' ' || *c == '=' || *c == '"' || (unsigned char)*c < 0x20)
            plain = 0;
    if (plain)
        puts_(o, s);
    else {
        put_json_string(o, s);
        put(o, "\"", 1);
    }
}

static void format_time(int64_t unix_ms, char out[40])
{
    int64_t s = unix_ms >= 0 ? unix_ms / 1000 : -((-unix_ms + 999) / 1000);
    int ms = (int)(unix_ms - s * 1000);
    int y, mo, d, h, mi, se;
    tx_unix_to_local(s, &y, &mo, &d, &h, &mi, &se);
    snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+08:00", y, mo, d, h, mi, se, ms);
}

size_t tx_log_format(const tx_log_params *p, int64_t unix_ms, tx_log_level level,
                     const tx_log_field *fields, size_t nfields, const char *msg, char *out,
                     size_t cap)
{
    /* Reserve room for the closing characters ("...\"}" at most) so a cut line still
     * parses. */
    enum { RESERVE = 8 };
    if (cap < 64) {
        if (cap)
            out[0] = '\0';
        return 0;
    }
    obuf o = {out, cap - RESERVE, 0, 0};
    out[0] = '\0';
    char when[40];
    format_time(unix_ms, when);
    if (level < TX_LOG_ERROR || level > TX_LOG_DEBUG)
        level = TX_LOG_ERROR;
    if (p->json) {
        puts_(&o, "{\"time\":\"");
        puts_(&o, when);
        puts_(&o, "\",\"level\":\"");
        puts_(&o, level_json[level]);
        puts_(&o, "\",\"msg\":");
        put_json_string(&o, msg);
        if (o.cut) {
            o.cap = cap;
            puts_(&o, "...\"}");
            return o.n;
        }
        put(&o, "\"", 1);
        for (size_t i = 0; i < nfields && !o.cut; i++) {
            size_t mark = o.n;
            put(&o, ",", 1);
            put_json_string(&o, fields[i].key);
            put(&o, "\":", 2);
            if (fields[i].type == 0) {
                put_json_string(&o, fields[i].s ? fields[i].s : "");
                put(&o, "\"", 1);
            } else if (fields[i].type == 1)
                putf(&o, "%lld", fields[i].i);
            else if (isfinite(fields[i].d))
                putf(&o, "%.17g", fields[i].d);
            else
                puts_(&o, "null");
            if (o.cut) {
                o.n = mark; /* drop the field that did not fit whole */
                out[o.n] = '\0';
            }
        }
        o.cap = cap;
        puts_(&o, "}");
        return o.n;
    }
    puts_(&o, when);
    put(&o, " ", 1);
    puts_(&o, level_text[level]);
    put(&o, " ", 1);
    puts_(&o, msg);
    for (size_t i = 0; i < nfields && !o.cut; i++) {
        if (fields[i].type == 0 && (!fields[i].s || !*fields[i].s))
            continue; /* an empty text field says nothing in a text line */
        put(&o, " ", 1);
        puts_(&o, fields[i].key);
        put(&o, "=", 1);
        if (fields[i].type == 0)
            put_text_value(&o, fields[i].s ? fields[i].s : "");
        else if (fields[i].type == 1)
            putf(&o, "%lld", fields[i].i);
        else
            putf(&o, "%.6g", fields[i].d);
    }
    /* A message with line breaks would split the record: they become spaces. */
    for (size_t i = 0; i < o.n; i++)
        if (out[i] == '\n' || out[i] == '\r')
            out[i] = ' ';
    if (o.cut) {
        o.cap = cap;
        puts_(&o, "...");
    }
    return o.n;
}

static void write_line(int fd, const char *line, size_t n)
{
    /* One write per line: lines of processes sharing the descriptor do not interleave. */
    while (n > 0) {
        ssize_t k = write(fd, line, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return;
        line += k;
        n -= (size_t)k;
    }
}

static void emit(const tx_logger *lg, tx_log_level level, const tx_log_field *fields,
                      size_t nfields, const char *msg)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    char line[TX_LOG_LINE_MAX + 1];
    size_t n = tx_log_format(&lg->p, ms, level, fields, nfields, msg, line, TX_LOG_LINE_MAX);
    line[n++] = '\n';
    write_line(lg->p.fd, line, n);
}

void tx_log_emit(const tx_logger *lg, tx_log_level level, const tx_log_field *fields,
                 size_t nfields, const char *fmt, ...)
{
    if (!tx_log_enabled(lg, level))
        return;
    char msg[TX_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    emit(lg, level, fields, nfields, msg);
}

/* ---- capture of stderr ---------------------------------------------------------------- */

typedef struct {
    const tx_logger *lg;
    size_t n;
    char line[TX_LOG_LINE_MAX];
} capture;

/* Emits one captured line, verbatim, at the level of the engine's marker. */
static void capture_line(capture *c)
{
    c->line[c->n] = '\0';
    c->n = 0;
    char *s = c->line;
    size_t len = strlen(s);
    while (len && (s[len - 1] == '\r' || s[len - 1] == ' '))
        s[--len] = '\0';
    if (len == 0)
        return;
    tx_log_level level = TX_LOG_ERROR;
    /* The marker follows the program prefix ("tanxiao run: warning: ...") or opens the
     * line. */
    const char *m = strstr(s, "warning: ");
    if (m && (m == s || (m >= s + 2 && m[-1] == ' ' && m[-2] == ':')))
        level = TX_LOG_WARN;
    if (tx_log_enabled(c->lg, level))
        emit(c->lg, level, NULL, 0, s);
}

static ssize_t capture_write(void *cookie, const char *buf, size_t size)
{
    capture *c = cookie;
    for (size_t i = 0; i < size; i++) {
        if (buf[i] == '\n' || c->n == sizeof c->line - 1)
            capture_line(c);
        if (buf[i] != '\n')
            c->line[c->n++] = buf[i];
    }
    return (ssize_t)size;
}

static int capture_close(void *cookie)
{
    capture *c = cookie;
    if (c->n)
        capture_line(c);
    free(c);
    return 0;
}

FILE *tx_log_capture_stderr(const tx_logger *lg)
{
    capture *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->lg = lg;
    cookie_io_functions_t io = {.read = NULL, .write = capture_write, .seek = NULL,
                                .close = capture_close};
    FILE *f = fopencookie(c, "w", io);
    if (!f) {
        free(c);
        return NULL;
    }
    /* Unbuffered: each stdio call reaches the cookie at once, so records keep their order
     * with the logger's direct writes. */
    setvbuf(f, NULL, _IONBF, 0);
    fflush(stderr);
    FILE *orig = stderr;
    stderr = f;
    return orig;
}

void tx_log_release_stderr(FILE *original)
{
    if (!original || stderr == original)
        return;
    FILE *f = stderr;
    stderr = original;
    fclose(f);
}
