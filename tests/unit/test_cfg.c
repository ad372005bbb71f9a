/* test_cfg.c - the configuration reader: defaults, every kind of mistake
 * named with file, section and key, and limits on the file itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

#include "core/cfg.h"
#include "core/limits.h"

static struct cfg *
load(const char *text, struct err *err)
{
    return cfg_load_data("/etc/postern/test.conf", text, strlen(text), err);
}

/* Loads text that must fail and checks the message. */
static void
assert_config_error(const char *text, const char *expected_msg)
{
    struct err err = {0};
    struct cfg *c = load(text, &err);

    assert_null(c);
    assert_int_equal(err.kind, ERR_CONFIG);
    if (strstr(err.msg, expected_msg) == NULL)
        fail_msg("message \"%s\" lacks \"%s\"", err.msg, expected_msg);
}

static void
test_minimal_file_gets_defaults(void **state)
{
    struct err err = {0};
    struct cfg *c = load("[server home]\nhost = mail.example.org\n", &err);

    (void)state;
    assert_non_null(c);
    assert_string_equal(c->listen_host, "127.0.0.1");
    assert_int_equal(c->listen_port, 8080);
    assert_string_equal(c->base_path, "/");
    assert_int_equal(c->page_size, 50);
    assert_int_equal(c->pool_per_session, 2);
    assert_int_equal(c->io_timeout, 30);
    assert_int_equal(c->command_timeout, 120);
    assert_int_equal(c->n_servers, 1);
    assert_string_equal(c->servers[0]->name, "home");
    assert_int_equal(c->servers[0]->protocol, CFG_PROTO_IMAP);
    assert_int_equal(c->servers[0]->tls, CFG_TLS_IMPLICIT);
    assert_int_equal(c->servers[0]->port, 993);
    assert_string_equal(c->servers[0]->smtp_host, "mail.example.org");
    assert_int_equal(c->servers[0]->smtp_port, 587);
    assert_int_equal(c->servers[0]->smtp_tls, CFG_TLS_STARTTLS);
    assert_null(c->servers[1]);
    cfg_free(&c);
    assert_null(c);
}

static void
test_full_file_is_read_in_order(void **state)
{
    struct err err = {0};
    struct cfg *c = load("[postern]\n"
                         "listen = [::1]:9090\n"
                         "base_path = /webmail\n"
                         "max_upload = 10M\n"
                         "allowed_hosts = 10.0.0.5;mail.lan; fd00::/8\n"
                         "data_dir = share\n"
                         "[server first]\nprotocol = pop3\nhost = a.example\n"
                         "tls = starttls\nca_file = ca.pem\n"
                         "[server second]\nhost = b.example\nsmtp_port = 465\n",
                         &err);

    (void)state;
    assert_non_null(c);
    assert_string_equal(c->listen_host, "::1");
    assert_int_equal(c->listen_port, 9090);
    assert_string_equal(c->base_path, "/webmail/");
    assert_int_equal(c->max_upload, 10u * 1024 * 1024);
    assert_string_equal(c->allowed_hosts[1], "mail.lan");
    assert_string_equal(c->allowed_hosts[2], "fd00::/8");
    assert_int_equal(c->login_fails_per_address, 20); /* the defaults */
    assert_int_equal(c->login_fails_per_user, 5);
    assert_int_equal(c->login_fail_window, 900);
    assert_int_equal(c->login_delay_max, 900);
    assert_string_equal(c->data_dir, "/etc/postern/share");
    assert_int_equal(c->n_servers, 2);
    assert_string_equal(c->servers[0]->name, "first");
    assert_int_equal(c->servers[0]->port, 110);
    assert_string_equal(c->servers[0]->ca_file, "/etc/postern/ca.pem");
    assert_int_equal(c->servers[1]->smtp_tls, CFG_TLS_IMPLICIT);
    assert_ptr_equal(cfg_server_find(c, "second"), c->servers[1]);
    assert_null(cfg_server_find(c, "third"));
    cfg_free(&c);
}

static void
test_unknown_key_is_named_with_file_and_section(void **state)
{
    (void)state;
    assert_config_error("[postern]\nlisten_port = 80\n"
                        "[server a]\nhost = x\n",
                        "/etc/postern/test.conf: [postern] listen_port: "
                        "unknown key");
    assert_config_error("[server a]\nhost = x\nhots = y\n",
                        "/etc/postern/test.conf: [server a] hots: unknown "
                        "key");
}

static void
test_bad_values_say_what_is_expected(void **state)
{
    (void)state;
    assert_config_error("[postern]\nthreads = many\n[server a]\nhost = x\n",
                        "[postern] threads: \"many\" is not a number from 1 "
                        "to 256");
    assert_config_error("[postern]\nthreads = 0\n[server a]\nhost = x\n",
                        "[postern] threads:");
    assert_config_error("[postern]\nallowed_hosts = 10.0.0.0/x\n"
                        "[server a]\nhost = x\n",
                        "[postern] allowed_hosts: \"10.0.0.0/x\" is not a "
                        "host name, address or ADDRESS/BITS range");
    /* a list GLib cannot read (found by fuzz_cfg): an error, not a crash */
    assert_config_error("[postern]\nallowed_hosts = a\\-b\n"
                        "[server a]\nhost = x\n",
                        "[postern] allowed_hosts: ");
    assert_config_error("[postern]\nlogin_fails_per_user = 0\n"
                        "[server a]\nhost = x\n",
                        "[postern] login_fails_per_user: \"0\" is not a "
                        "number from 1 to 1000000");
    assert_config_error("[postern]\ncommand_timeout = 0\n"
                        "[server a]\nhost = x\n",
                        "[postern] command_timeout: \"0\" is not a "
                        "number from 1 to 3600");
    assert_config_error("[postern]\nlisten = 8080\n[server a]\nhost = x\n",
                        "[postern] listen: \"8080\" is not HOST:PORT");
    assert_config_error("[postern]\nlisten = h:70000\n[server a]\nhost = x\n",
                        "[postern] listen:");
    assert_config_error("[postern]\nbase_path = webmail\n[server a]\nhost = x\n",
                        "[postern] base_path:");
    assert_config_error("[postern]\naccess_log = maybe\n[server a]\nhost = x\n",
                        "[postern] access_log: \"maybe\" is not true or false");
    assert_config_error("[postern]\nmax_upload = 5X\n[server a]\nhost = x\n",
                        "[postern] max_upload:");
    assert_config_error("[server a]\nhost = x\ntls = ssl\n",
                        "[server a] tls: \"ssl\" is not implicit, starttls or "
                        "none");
    assert_config_error("[server a]\nhost = x\nprotocol = smtp\n",
                        "[server a] protocol:");
    assert_config_error("[server a]\nhost = x\nport = 0\n",
                        "[server a] port:");
    assert_config_error("[server a]\nhost = bad host\n", "[server a] host:");
}

/* Found by tests/fuzz/fuzz_cfg (regressions/cfg/): a value GLib cannot
 * read (not UTF-8) aborted postern on an assertion in [postern] and
 * crashed it in a [server] section, instead of naming the key. */
static void
test_unreadable_values_are_named_not_fatal(void **state)
{
    (void)state;
    assert_config_error("[postern]\nlisten=\xff\n[server a]\nhost = x\n",
                        "/etc/postern/test.conf: [postern] listen: ");
    assert_config_error("[server a]\nhost = x\nca_file = \xc3\n",
                        "/etc/postern/test.conf: [server a] ca_file: ");
}

static void
test_structural_mistakes_are_errors(void **state)
{
    (void)state;
    assert_config_error("[postern]\n", "no [server NAME] section");
    assert_config_error("[server a]\nport = 993\n",
                        "[server a] host: missing");
    assert_config_error("[server a]\nhost = x\n[server a]\nhost = y\n",
                        "[server a]: section appears twice");
    assert_config_error("[servers]\nhost = x\n", "[servers]: unknown section");
    assert_config_error("[server]\nhost = x\n", "needs a name");
    assert_config_error("[server a/b]\nhost = x\n", "server names may hold");
    assert_config_error("[postern\n", "/etc/postern/test.conf:");
    assert_config_error("[postern]\ntls_cert = c.pem\n[server a]\nhost = x\n",
                        "tls_key: tls_cert and tls_key go together");
}

static void
test_deployment_keys(void **state)
{
    struct err err = {0};
    struct cfg *c = load("[postern]\n"
                         "tls_cert = c.pem\ntls_key = /k.pem\n"
                         "redirect_listen = [::]:80\n"
                         "trusted_proxies = 127.0.0.1; 10.0.0.0/8 ;::1;\n"
                         "compress = no\n"
                         "[server a]\nhost = x\n",
                         &err);

    (void)state;
    assert_non_null(c);
    assert_string_equal(c->tls_cert, "/etc/postern/c.pem"); /* relative */
    assert_string_equal(c->redirect_host, "::");
    assert_int_equal(c->redirect_port, 80);
    assert_int_equal(c->n_trusted_proxies, 3);
    assert_true(netaddr_list_contains(c->trusted_proxies,
                                      c->n_trusted_proxies, "10.2.3.4"));
    assert_true(netaddr_list_contains(c->trusted_proxies,
                                      c->n_trusted_proxies, "::1"));
    assert_false(netaddr_list_contains(c->trusted_proxies,
                                       c->n_trusted_proxies, "127.0.0.2"));
    assert_false(c->compress);
    cfg_free(&c);

    c = load("[server a]\nhost = x\n", &err);
    assert_non_null(c);
    assert_true(c->compress); /* on unless switched off */
    assert_null(c->redirect_host);
    assert_int_equal(c->n_trusted_proxies, 0);
    cfg_free(&c);

    assert_config_error("[postern]\ntrusted_proxies = 127.0.0.1; proxy.lan\n"
                        "[server a]\nhost = x\n",
                        "[postern] trusted_proxies: \"proxy.lan\" is not an "
                        "IP address or network");
    assert_config_error("[postern]\ntrusted_proxies = 10.0.0.0/33\n"
                        "[server a]\nhost = x\n",
                        "trusted_proxies: \"10.0.0.0/33\"");
    assert_config_error("[postern]\nredirect_listen = 80\n"
                        "[server a]\nhost = x\n",
                        "[postern] redirect_listen: \"80\" is not HOST:PORT");
    assert_config_error("[postern]\nredirect_listen = 127.0.0.1:80\n"
                        "[server a]\nhost = x\n",
                        "redirect_listen: redirects to HTTPS, so it needs "
                        "tls_cert and tls_key");
    assert_config_error("[postern]\ncompress = maybe\n[server a]\nhost = x\n",
                        "[postern] compress: \"maybe\" is not true or false");
}

static void
test_file_over_the_size_cap_is_refused(void **state)
{
    size_t n = LIM_CONFIG_FILE + 1;
    char *big = g_malloc(n + 1);
    struct err err = {0};
    struct cfg *c;

    (void)state;
    memset(big, '#', n);
    big[n] = '\0';
    c = cfg_load_data("big.conf", big, n, &err);
    assert_null(c);
    assert_int_equal(err.kind, ERR_CONFIG);
    assert_non_null(strstr(err.msg, "larger than"));
    g_free(big);
}

static void
test_missing_file_names_the_file(void **state)
{
    struct err err = {0};

    (void)state;
    assert_null(cfg_load("/nonexistent/postern.conf", &err));
    assert_int_equal(err.kind, ERR_CONFIG);
    assert_non_null(strstr(err.msg, "/nonexistent/postern.conf: cannot read"));
}

static void
test_shipped_example_config_is_valid(void **state)
{
    struct err err = {0};
    struct cfg *c = cfg_load(SOURCE_DIR "/conf/postern.conf", &err);

    (void)state;
    if (c == NULL)
        fail_msg("%s", err.msg);
    assert_string_equal(c->servers[0]->name, "example");
    cfg_free(&c);
}

static void
test_typed_servers_are_imap_over_tls_and_guarded(void **state)
{
    struct err err = {0};
    struct cfg *c = load("[postern]\nallow_any_server = true\n"
                         "allowed_hosts = mail.lan\n"
                         "[server a]\nhost = x\n",
                         &err);
    struct cfg_server *s;

    (void)state;
    assert_non_null(c);
    s = cfg_server_typed(c, "mail.example.org", &err);
    assert_non_null(s);
    assert_string_equal(s->host, "mail.example.org");
    assert_int_equal(s->port, 993);
    assert_int_equal(s->tls, CFG_TLS_IMPLICIT);
    assert_null(s->ca_file);
    assert_string_equal(s->smtp_host, "mail.example.org");
    assert_int_equal(s->smtp_tls, CFG_TLS_STARTTLS);
    assert_true(s->is_typed);
    assert_string_equal(s->allowed_hosts[0], "mail.lan");
    cfg_server_typed_free(&s);
    assert_null(s);
    s = cfg_server_typed(c, "[::ffff:127.0.0.1]:143", &err);
    assert_non_null(s);
    assert_string_equal(s->host, "::ffff:127.0.0.1");
    assert_int_equal(s->tls, CFG_TLS_STARTTLS); /* never in clear */
    cfg_server_typed_free(&s);
    for (size_t i = 0; i < 6; i++) {
        static const char *const bad[] = {"", "a b", "h:0", "h:65536",
                                          "[::1", "x;rm -rf"};

        err_clear(&err);
        assert_null(cfg_server_typed(c, bad[i], &err));
        assert_int_equal(err.kind, ERR_INPUT);
        assert_non_null(strstr(err.msg, "is not a mail server"));
    }
    cfg_free(&c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_typed_servers_are_imap_over_tls_and_guarded),
        cmocka_unit_test(test_minimal_file_gets_defaults),
        cmocka_unit_test(test_full_file_is_read_in_order),
        cmocka_unit_test(test_unknown_key_is_named_with_file_and_section),
        cmocka_unit_test(test_bad_values_say_what_is_expected),
        cmocka_unit_test(test_unreadable_values_are_named_not_fatal),
        cmocka_unit_test(test_structural_mistakes_are_errors),
        cmocka_unit_test(test_deployment_keys),
        cmocka_unit_test(test_file_over_the_size_cap_is_refused),
        cmocka_unit_test(test_missing_file_names_the_file),
        cmocka_unit_test(test_shipped_example_config_is_valid),
    };

    return cmocka_run_group_tests_name("cfg", tests, NULL, NULL);
}
