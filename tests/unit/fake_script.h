/* fake_script.h - a scripted line server for client tests, one thread
 * on 127.0.0.1:0: it answers each line the client sends with the next
 * entry of a script, and keeps what the client said. Header-only: each
 * unit test is one file linked with libpostern. Include it after
 * <cmocka.h>, whose asserts it uses. */
#ifndef POSTERN_TESTS_FAKE_SCRIPT_H
#define POSTERN_TESTS_FAKE_SCRIPT_H

#include <stdbool.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

/* The fake sends script[0] on accept (NULL: nothing, a stall), then for
 * each later entry reads one line from the client into got and answers
 * with the entry (NULL: no answer). FAKE_HANG_UP closes the connection
 * right after the entry before it, without reading anything more. After
 * the script it keeps reading into got until the client closes. What
 * follows a FAKE_DRIP byte in an entry goes a byte every 100 ms (a server
 * that is slow, never silent). */
#define FAKE_DRIP "\x01"
static const char FAKE_HANG_UP[] = "(hang up)";

struct fake {
    int lfd;
    unsigned port;
    const char *const *script;
    size_t n;
    GString *got;
    GThread *thread;
};

static bool
fake_wait(int fd, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};

    return poll(&p, 1, ms) == 1;
}

/* One line, or what came before EOF; false at EOF with nothing. */
static bool
fake_read_line(struct fake *f, int fd)
{
    bool any = false;

    for (;;) {
        char ch;

        if (!fake_wait(fd, 5000) || read(fd, &ch, 1) != 1)
            return any;
        any = true;
        g_string_append_c(f->got, ch);
        if (ch == '\n')
            return true;
    }
}

static bool
fake_send(int fd, const char *s)
{
    size_t len = strlen(s), off = 0;

    while (off < len) {
        ssize_t n = send(fd, s + off, len - off, MSG_NOSIGNAL);

        if (n <= 0)
            return false;
        off += (size_t)n;
    }
    return true;
}

static void
fake_answer(int fd, const char *s)
{
    const char *drip = strchr(s, FAKE_DRIP[0]);

    if (drip == NULL) {
        fake_send(fd, s);
        return;
    }
    {
        char *head = g_strndup(s, (gsize)(drip - s));

        fake_send(fd, head);
        g_free(head);
    }
    for (const char *p = drip + 1; *p != '\0'; p++) {
        char one[2] = {*p, '\0'};

        g_usleep(100 * 1000);
        if (!fake_send(fd, one))
            return; /* the client gave up */
    }
}

static gpointer
fake_thread(gpointer data)
{
    struct fake *f = data;
    int fd;

    if (!fake_wait(f->lfd, 5000))
        return NULL;
    fd = accept(f->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    for (size_t i = 0; i < f->n; i++) {
        if (f->script[i] == FAKE_HANG_UP) {
            close(fd);
            return NULL;
        }
        if (i > 0 && !fake_read_line(f, fd))
            break;
        if (f->script[i] != NULL)
            fake_answer(fd, f->script[i]);
    }
    while (fake_read_line(f, fd)) {
        /* keep what the client says after the script, until it closes */
    }
    close(fd);
    return NULL;
}

static void
fake_start(struct fake *f, const char *const *script, size_t n)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);

    memset(f, 0, sizeof(*f));
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(f->lfd >= 0);
    assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(f->lfd, 4), 0);
    assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &sl), 0);
    f->port = ntohs(sa.sin_port);
    f->script = script;
    f->n = n;
    f->got = g_string_new(NULL);
    f->thread = g_thread_new("fake-script", fake_thread, f);
}

/* Joins the thread; returns what the client sent (g_free it). */
static char *
fake_finish(struct fake *f)
{
    g_thread_join(f->thread);
    close(f->lfd);
    return g_string_free(f->got, FALSE);
}

#endif
