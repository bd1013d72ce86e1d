/* The one load generator every server in `make bench` faces (Chapters/A1-benchmarks.md).
 *
 *   loadgen greet HOST PORT SECONDS THREADS         connect, read until EOF, check the greeting, close
 *   loadgen tls-greet HOST PORT SECONDS THREADS     the same over TLS (no verification: our own test
 *                                                   certificate, on loopback; we measure, not trust)
 *   loadgen tls-handshake HOST PORT SECONDS THREADS connect, TLS handshake, close
 *
 * Each of THREADS threads runs one connection after another, blocking, for SECONDS; the
 * result is one line: `connections/s N errors N connections N`. Written in C so that it costs every server
 * the same, and so that it is not the code under test.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char greeting[] = "Hello World!\r\n";
enum mode { GREET, TLS_GREET, TLS_HANDSHAKE };
static enum mode mode;
static struct sockaddr_in server;
static double stop_at;
static SSL_CTX *context;
static atomic_long done, failed;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* One connection; returns 0 when it went as it should. */
static int one(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    struct timeval limit = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    int status = -1;
    if (connect(fd, (struct sockaddr *)&server, sizeof server) != 0) goto out;
    char buffer[256];
    size_t got = 0;
    if (mode == GREET) {
        ssize_t n;
        while ((n = recv(fd, buffer + got, sizeof buffer - got, 0)) > 0) got += (size_t)n;
        status = (n == 0 && got == sizeof greeting - 1 && memcmp(buffer, greeting, got) == 0) ? 0 : -1;
        goto out;
    }
    SSL *tls = SSL_new(context);
    if (!tls) goto out;
    SSL_set_fd(tls, fd);
    if (SSL_connect(tls) == 1) {
        if (mode == TLS_HANDSHAKE) {
            status = 0;
        } else {
            int n;
            while ((n = SSL_read(tls, buffer + got, (int)(sizeof buffer - got))) > 0) got += (size_t)n;
            status = (got == sizeof greeting - 1 && memcmp(buffer, greeting, got) == 0) ? 0 : -1;
        }
    }
    SSL_free(tls);
out:
    close(fd);
    return status;
}

static void *worker(void *unused) {
    (void)unused;
    while (now() < stop_at) {
        if (one() == 0) atomic_fetch_add(&done, 1);
        else atomic_fetch_add(&failed, 1);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: loadgen greet|tls-greet|tls-handshake HOST PORT SECONDS THREADS\n");
        return 2;
    }
    if (strcmp(argv[1], "greet") == 0) mode = GREET;
    else if (strcmp(argv[1], "tls-greet") == 0) mode = TLS_GREET;
    else if (strcmp(argv[1], "tls-handshake") == 0) mode = TLS_HANDSHAKE;
    else { fprintf(stderr, "loadgen: unknown mode %s\n", argv[1]); return 2; }
    server.sin_family = AF_INET;
    server.sin_port = htons((uint16_t)atoi(argv[3]));
    if (inet_pton(AF_INET, argv[2], &server.sin_addr) != 1) { fprintf(stderr, "loadgen: bad host\n"); return 2; }
    double seconds = atof(argv[4]);
    int threads = atoi(argv[5]);
    if (seconds <= 0 || threads < 1 || threads > 256) { fprintf(stderr, "loadgen: bad numbers\n"); return 2; }
    struct rlimit files;
    if (getrlimit(RLIMIT_NOFILE, &files) == 0) { files.rlim_cur = files.rlim_max; setrlimit(RLIMIT_NOFILE, &files); }
    if (mode != GREET) {
        context = SSL_CTX_new(TLS_client_method());
        SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, NULL);
        /* A new session each time: we count full handshakes, as a new client makes them. */
        SSL_CTX_set_session_cache_mode(context, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_options(context, SSL_OP_NO_TICKET);
    }
    double start = now();
    stop_at = start + seconds;
    pthread_t ids[256];
    for (int i = 0; i < threads; i++) pthread_create(&ids[i], NULL, worker, NULL);
    for (int i = 0; i < threads; i++) pthread_join(ids[i], NULL);
    double elapsed = now() - start;
    printf("connections/s %.0f errors %ld connections %ld\n", (double)atomic_load(&done) / elapsed,
           atomic_load(&failed), atomic_load(&done));
    return 0;
}
