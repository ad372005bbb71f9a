/* fuzz_cfg.c - libFuzzer harness for the configuration reader
 * (cfg_load_data: the text cfg_load reads from the file). Asserts that a
 * refusal is ERR_CONFIG naming the file, and that an accepted
 * configuration has what cfg.h promises. */
#include <string.h>

#include "core/cfg.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct err err = {0};
    struct cfg *c;

    c = cfg_load_data("/etc/postern/fuzz.conf", (const char *)data, size,
                      &err);
    if (c == NULL) {
        xassert(err.kind == ERR_CONFIG);
        xassert(strncmp(err.msg, "/etc/postern/fuzz.conf", 22) == 0);
        return 0;
    }
    xassert(c->n_servers >= 1 && c->servers != NULL);
    for (size_t i = 0; i < c->n_servers; i++) {
        const struct cfg_server *s = c->servers[i];

        xassert(s != NULL && s->name != NULL && s->host != NULL);
        xassert(s->port >= 1 && s->port <= 65535);
        xassert(cfg_server_find(c, s->name) != NULL);
    }
    xassert(c->servers[c->n_servers] == NULL);
    xassert(c->base_path != NULL && c->base_path[0] == '/' &&
            c->base_path[strlen(c->base_path) - 1] == '/');
    cfg_free(&c);
    xassert(c == NULL);
    return 0;
}
