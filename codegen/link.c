/* link.c — an object file into a shared object with ld.lld (run as a
 * child process). The artifact depends on the target's libc only (for the
 * memcpy/memset LLVM may call); every symbol must resolve (-z defs). */
#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cg.h"

extern char **environ;

static const char *find_libc(const Target *t)
{
    static char path[512];
    for (int i = 0; i < 2; i++) {
        if (!t->libc_dirs[i])
            continue;
        snprintf(path, sizeof path, "%s/libc.so.6", t->libc_dirs[i]);
        if (access(path, R_OK) == 0)
            return path;
    }
    return NULL;
}

static const char *lld_path(void)
{
    const char *env = getenv("QKC_LLD");
    if (env && *env)
        return env;
    return QKC_LLD_PATH;
}

bool cg_link_so(const Target *t, const char *obj, const char *out, Diag *d)
{
    const char *libc = find_libc(t);
    char errpath[] = "/tmp/qkc-lld-XXXXXX";
    int efd = mkstemp(errpath);
    if (efd < 0)
        return diag_error(d, loc_none(), "cannot create a temporary file");
    const char *argv[24];
    int k = 0;
    argv[k++] = lld_path();
    argv[k++] = "-shared";
    argv[k++] = "-z";
    argv[k++] = libc ? "defs" : "undefs";
    argv[k++] = "-z";
    argv[k++] = "noexecstack";
    argv[k++] = "-z";
    argv[k++] = "relro";
    argv[k++] = "-z";
    argv[k++] = "now";
    argv[k++] = "--as-needed";
    argv[k++] = "--hash-style=gnu";
    /* no -soname: artifacts are loaded by path, and the bytes must not
     * depend on the output's file name (reproducible builds) */
    argv[k++] = "-o";
    argv[k++] = out;
    argv[k++] = obj;
    if (libc)
        argv[k++] = libc;
    argv[k] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    posix_spawn_file_actions_adddup2(&fa, efd, 1);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    bool ok = false;
    if (rc != 0) {
        diag_error(d, loc_none(), "cannot run the linker %s: %s (set QKC_LLD to ld.lld's path)", argv[0], strerror(rc));
    } else {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
        ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        if (!ok) {
            char msg[2048] = {0};
            lseek(efd, 0, SEEK_SET);
            ssize_t n = read(efd, msg, sizeof msg - 1);
            if (n < 0)
                n = 0;
            msg[n] = 0;
            diag_error(d, loc_file(out), "linking failed: %s", msg);
        }
    }
    close(efd);
    unlink(errpath);
    return ok;
}
