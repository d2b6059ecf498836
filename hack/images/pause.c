/*
 * Minimal pod sandbox ("pause") process for localhost/pause:3.10.
 *
 * It keeps the pod's namespaces alive, reaps any child that is re-parented
 * to it (it is PID 1 when the pod shares a PID namespace) and exits with
 * status 0 on SIGINT or SIGTERM. Build: gcc -Os -static -s -o pause pause.c
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void handle_stop(int signo)
{
    (void)signo;
    _exit(0);
}

static void reap_children(int signo)
{
    (void)signo;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

int main(void)
{
    struct sigaction action = {0};

    action.sa_handler = handle_stop;
    sigemptyset(&action.sa_mask);
    if (sigaction(SIGINT, &action, NULL) != 0 || sigaction(SIGTERM, &action, NULL) != 0)
        return 1;

    action.sa_handler = reap_children;
    action.sa_flags = SA_NOCLDSTOP | SA_RESTART;
    if (sigaction(SIGCHLD, &action, NULL) != 0)
        return 1;

    for (;;)
        pause();
}
