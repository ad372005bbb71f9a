/* main.c - command line: serve | fcgi | check-config | --help | --version,
 * and plain CGI when a web server runs us with no arguments. */
#include <locale.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>
#include <gmime/gmime.h>

#include "core/cfg.h"
#include "core/log.h"
#include "http/http.h"
#include "http/http_tls.h"
#include "net/net_tls.h"
#include "web/app.h"

#define EXIT_USAGE 64
#define EXIT_CONFIG 2

static const char usage[] =
    "usage: postern serve [-c FILE]\n"
    "       postern fcgi [-c FILE] [--socket PATH|HOST:PORT]\n"
    "       postern check-config [-c FILE]\n"
    "       postern --help | --version\n"
    "\n"
    "  serve         run the embedded HTTP server on [postern] listen\n"
    "  fcgi          run as a FastCGI application (on --socket, or on the\n"
    "                socket the web server passes); as plain CGI when the\n"
    "                web server runs postern without a FastCGI socket\n"
    "  check-config  read the configuration, report the first problem\n"
    "\n"
    "  -c FILE       configuration file (default " POSTERN_DEFAULT_CONFIG
    ";\n"
    "                as CGI, the POSTERN_CONFIG environment variable)\n";

static int
main_load(const char *path, struct cfg **cfg_out, struct web_app **app_out)
{
    struct err err = {0};

    *cfg_out = cfg_load(path, &err);
    if (*cfg_out == NULL) {
        fprintf(stderr, "postern: %s\n", err.msg);
        return EXIT_CONFIG;
    }
    log_set_level((enum log_level)(*cfg_out)->log_level);
    if (app_out == NULL)
        return 0;
    *app_out = web_app_new(*cfg_out, &err);
    if (*app_out == NULL) {
        fprintf(stderr, "postern: %s\n", err.msg);
        cfg_free(cfg_out);
        return EXIT_CONFIG;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : NULL;
    const char *conf = POSTERN_DEFAULT_CONFIG;
    const char *socket_spec = NULL;
    struct cfg *cfg = NULL;
    struct web_app *app = NULL;
    struct err err = {0};
    sigset_t set;
    int rc;

    setlocale(LC_ALL, "C.UTF-8");
    /* Every request's and every IMAP response's arena is freed at its end.
     * With glibc's defaults its bigger blocks are mmap'd and each heap is
     * handed back to the kernel, then faulted in again on the next request
     * (page faults and madvise were a third of a first mailbox page's
     * CPU). Blocks under 4 MiB come from the heap, and each heap keeps up
     * to 8 MiB: what stays resident is bounded. */
    (void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    (void)mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
    if (cmd == NULL && getenv("GATEWAY_INTERFACE") != NULL) {
        cmd = "cgi"; /* run by a web server as a CGI program */
        if (getenv("POSTERN_CONFIG") != NULL)
            conf = getenv("POSTERN_CONFIG");
    }
    if (cmd == NULL) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("postern %s\n", POSTERN_VERSION);
        return 0;
    }
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
            conf = argv[++i];
        } else if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc &&
                   strcmp(cmd, "fcgi") == 0) {
            socket_spec = argv[++i];
        } else {
            fprintf(stderr, "postern: unexpected argument \"%s\"\n%s",
                    argv[i], usage);
            return EXIT_USAGE;
        }
    }

    if (strcmp(cmd, "check-config") == 0) {
        struct http_tls tls;

        rc = main_load(conf, &cfg, &app);
        /* the files serve would read: named now rather than at start */
        if (rc == 0 && http_tls_load(cfg, &tls, &err) < 0) {
            fprintf(stderr, "postern: %s\n", err.msg);
            rc = EXIT_CONFIG;
        } else if (rc == 0) {
            http_tls_deinit(&tls);
        }
        if (rc == 0)
            printf("%s: ok (%zu server%s)\n", conf, cfg->n_servers,
                   cfg->n_servers == 1 ? "" : "s");
        web_app_free(&app);
        cfg_free(&cfg);
        return rc;
    }
    if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "fcgi") != 0 &&
        strcmp(cmd, "cgi") != 0) {
        fprintf(stderr, "postern: unknown command \"%s\"\n%s", cmd, usage);
        return EXIT_USAGE;
    }
    rc = main_load(conf, &cfg, &app);
    if (rc != 0)
        return rc;
    /* once, before any thread: GMime's own counter is not atomic */
    g_mime_init();

    /* Every thread inherits this mask; the front end sigwait()s for them. */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    web_app_start(app);
    if (strcmp(cmd, "serve") == 0)
        rc = http_mhd_run(app, &err);
    else if (strcmp(cmd, "cgi") == 0 ||
             (socket_spec == NULL && http_fcgi_stdin_is_cgi()))
        rc = http_cgi_run(app, &err);
    else
        rc = http_fcgi_run(app, socket_spec, &err);
    if (rc < 0)
        fprintf(stderr, "postern: %s\n", err.msg);
    web_app_free(&app);
    cfg_free(&cfg);
    net_tls_cleanup();
    if (rc < 0)
        return err.kind == ERR_CONFIG ? EXIT_CONFIG : 1;
    return 0;
}
