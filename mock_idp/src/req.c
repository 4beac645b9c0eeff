/* Request accessors and response builders shared by every handler. */
#include "cm_form.h"
#include "cm_strbuf.h"
#include "req.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cm_json.h"

const char *Idp_req_header(const idp_req *rq, const char *name)
{
    for (size_t i = 0; i < rq->n_headers; i++)
        if (strcasecmp(rq->headers[i].name, name) == 0)
            return rq->headers[i].value;
    return NULL;
}

const char *Idp_req_param(const idp_req *rq, const char *name)
{
    if (rq->form_parsed) {
        const char *v = cm_form_get(&rq->form, name);
        if (v || strcmp(rq->method, "POST") == 0)
            return v;
    }
    return cm_form_get(&rq->query, name);
}

const char *Idp_req_cookie(const idp_req *rq, const char *cookie_name, char *buf, size_t n)
{
    size_t name_len = strlen(cookie_name);
    for (size_t i = 0; i < rq->n_headers; i++) {
        if (strcasecmp(rq->headers[i].name, "Cookie") != 0)
            continue;
        for (const char *p = rq->headers[i].value; *p;) {
            p += strspn(p, " ;");
            size_t len = strcspn(p, ";");
            if (len > name_len && strncmp(p, cookie_name, name_len) == 0 && p[name_len] == '=') {
                size_t vlen = len - name_len - 1;
                while (vlen && p[name_len + vlen] == ' ')
                    vlen--;
                if (vlen >= n)
                    return NULL;
                memcpy(buf, p + name_len + 1, vlen);
                buf[vlen] = '\0';
                return buf;
            }
            p += len;
        }
    }
    return NULL;
}

void Idp_resp_init(idp_resp *rs)
{
    memset(rs, 0, sizeof *rs);
    rs->status = 500;
    cm_strbuf_init(&rs->body);
}

void Idp_resp_dispose(idp_resp *rs)
{
    for (size_t i = 0; i < rs->n_headers; i++) {
        free(rs->headers[i].name);
        free(rs->headers[i].value);
    }
    cm_strbuf_dispose(&rs->body);
    json_decref(rs->body_json);
    rs->body_json = NULL;
    rs->n_headers = 0;
    json_decref(rs->trace_pending);
    rs->trace_pending = NULL;
}

void Idp_resp_header(idp_resp *rs, const char *name, const char *value)
{
    for (size_t i = 0; i < rs->n_headers; i++) {
        if (strcasecmp(rs->headers[i].name, name) == 0) {
            free(rs->headers[i].value);
            rs->headers[i].value = strdup(value);
            return;
        }
    }
    if (rs->n_headers < sizeof rs->headers / sizeof rs->headers[0]) {
        rs->headers[rs->n_headers].name = strdup(name);
        rs->headers[rs->n_headers].value = strdup(value);
        rs->n_headers++;
    }
}

void Idp_resp_clear_body(idp_resp *rs)
{
    json_decref(rs->body_json);
    rs->body_json = NULL;
    rs->body_pending = 0;
    cm_strbuf_dispose(&rs->body);
    cm_strbuf_init(&rs->body);
}

void Idp_resp_json(idp_resp *rs, int status, json_t *body)
{
    Idp_resp_clear_body(rs);
    rs->status = status;
    rs->body_json = body; /* written out by Idp_resp_materialize, outside the state lock */
    rs->body_pending = 1;
    Idp_resp_header(rs, "Content-Type", "application/json");
}

void Idp_resp_materialize(idp_resp *rs)
{
    if (!rs->body_pending)
        return;
    rs->body_pending = 0;
    /* 15 significant digits: epoch seconds keep their milliseconds without float noise */
    char *text = rs->body_json ? cm_json_dumps_sorted(rs->body_json, 15) : NULL;
    json_decref(rs->body_json);
    rs->body_json = NULL;
    if (!text)
        rs->status = 500;
    cm_strbuf_puts(&rs->body, text ? text : "{\"error\":\"server_error\"}");
    free(text);
}

void Idp_resp_oauth_error(idp_resp *rs, int status, const char *error, const char *desc)
{
    rs->error = error;
    Idp_resp_json(rs, status,
                  json_pack("{s:s, s:o}", "error", error, "error_description",
                            cm_json_text(desc ? desc : error)));
    Idp_resp_header(rs, "Cache-Control", "no-store");
    Idp_resp_header(rs, "Pragma", "no-cache");
    if (status == 401) /* RFC 6749 §5.2: invalid_client over 401 names the scheme */
        Idp_resp_header(rs, "WWW-Authenticate", "Basic realm=\"mock-idp\"");
}

void Idp_resp_bearer_error(idp_resp *rs, int status, const char *error, const char *desc)
{
    char hdr[512];
    if (error) {
        snprintf(hdr, sizeof hdr,
                 "Bearer realm=\"mock-idp\", error=\"%s\", error_description=\"%s\"", error,
                 desc ? desc : error);
        rs->error = error;
        Idp_resp_json(rs, status,
                      json_pack("{s:s, s:o}", "error", error, "error_description",
                                cm_json_text(desc ? desc : error)));
    } else { /* RFC 6750 §3.1: no credentials at all gets no error code */
        snprintf(hdr, sizeof hdr, "Bearer realm=\"mock-idp\"");
        Idp_resp_json(rs, status, json_pack("{s:s}", "error_description", desc));
    }
    Idp_resp_header(rs, "WWW-Authenticate", hdr);
}

void Idp_resp_note(idp_resp *rs, const char *key, const char *value)
{
    if (rs->trace && value)
        json_object_set_new(rs->trace, key, cm_json_text(value));
}

void Idp_resp_note_grant(idp_resp *rs, const char *family, const char *session)
{
    Idp_resp_note(rs, "family", family);
    Idp_resp_note(rs, "session", session);
}

void Idp_resp_redirect(idp_resp *rs, const char *url)
{
    Idp_resp_clear_body(rs);
    rs->status = 302;
    Idp_resp_header(rs, "Location", url);
    Idp_resp_header(rs, "Cache-Control", "no-store");
}

void Idp_resp_html(idp_resp *rs, int status, char *html)
{
    Idp_resp_clear_body(rs);
    rs->status = html ? status : 500;
    cm_strbuf_puts(&rs->body, html ? html : "server error");
    free(html);
    Idp_resp_header(rs, "Content-Type", "text/html; charset=utf-8");
    Idp_resp_header(rs, "Cache-Control", "no-store");
}

int Idp_str_equal_ct(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    size_t la = strlen(a), lb = strlen(b);
    /* compare over the longer length so timing reveals neither content nor prefix */
    size_t n = la > lb ? la : lb;
    unsigned char diff = la != lb;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(i < la ? a[i] : 0) ^ (unsigned char)(i < lb ? b[i] : 0);
    return diff == 0;
}
