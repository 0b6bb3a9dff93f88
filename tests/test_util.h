/* test_util.h — helpers shared by the test programs (header-only). */
#ifndef QKC_TEST_UTIL_H
#define QKC_TEST_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Run argv[0] (a path) with stdout and stderr into `log`; its exit status,
 * 128 + the signal that ended it, or -1 when it could not start (errno). */
static inline int tu_spawn(const char *const *argv, const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

/* The first n-1 bytes of a log, newlines as spaces (for one-line reasons). */
static inline void tu_read_log(const char *log, char *buf, size_t n)
{
    FILE *f = fopen(log, "r");
    size_t k = f ? fread(buf, 1, n - 1, f) : 0;
    buf[k] = 0;
    if (f)
        fclose(f);
    for (char *p = buf; *p; p++)
        if (*p == '\n')
            *p = ' ';
}

#endif
