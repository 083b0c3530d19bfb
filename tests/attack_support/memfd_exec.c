/* The attack suite's "run code written at runtime" probe, built static at test time.
 *   memfd-exec        copy this program into an anonymous memory file and fexecve it: code
 *                     written at runtime, run without touching any (noexec) filesystem
 *   memfd-exec uring  set up an io_uring (whose operations the syscall filter never sees)
 * Prints what happened; exit 0 only when the attack worked. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv, char **envp) {
    if (argc > 1 && strcmp(argv[1], "ran") == 0) { puts("ran from memory"); return 0; }
    if (argc > 1 && strcmp(argv[1], "uring") == 0) {
        unsigned char params[120] = {0};
        long fd = syscall(__NR_io_uring_setup, 4, params);
        if (fd < 0) { printf("io_uring_setup: %s\n", strerror(errno)); return 2; }
        puts("io_uring ready"); return 0;
    }
    int mem = memfd_create("payload", 0);
    if (mem < 0) { printf("memfd_create: %s\n", strerror(errno)); return 2; }
    int self = open("/proc/self/exe", O_RDONLY);
    char buf[65536]; ssize_t n;
    while ((n = read(self, buf, sizeof buf)) > 0) write(mem, buf, n);
    char *args[] = {"payload", "ran", NULL};
    fexecve(mem, args, envp);
    printf("fexecve: %s\n", strerror(errno)); return 3;
}
