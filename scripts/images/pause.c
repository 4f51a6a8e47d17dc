/* The bed's pause program (what registry.k8s.io/pause runs): it holds a Pod sandbox's
 * namespaces, sleeps until SIGINT or SIGTERM and reaps every child re-parented to it (it is
 * PID 1 of the Pod's PID namespace when the Pod shares one). Built with `gcc -static` by
 * scripts/build-images.sh. Its own code, written after the behaviour of Kubernetes'
 * build/pause/linux/pause.c: exit 0 on SIGINT/SIGTERM, `-v` prints the version. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "kubeadm-rs-bed"
#endif

static void on_exit_signal(int sig) {
	(void)sig;
	_exit(0);
}

static void reap(int sig) {
	(void)sig;
	int saved = errno;
	while (waitpid(-1, NULL, WNOHANG) > 0) {
	}
	errno = saved;
}

int main(int argc, char **argv) {
	if (argc > 1 && strcmp(argv[1], "-v") == 0) {
		printf("pause.c %s\n", VERSION);
		return 0;
	}
	if (getpid() != 1)
		fprintf(stderr, "Warning: pause should be the first process\n");

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_exit_signal;
	if (sigaction(SIGINT, &sa, NULL) < 0 || sigaction(SIGTERM, &sa, NULL) < 0) {
		perror("sigaction");
		return 1;
	}
	sa.sa_handler = reap;
	sa.sa_flags = SA_NOCLDSTOP | SA_RESTART;
	if (sigaction(SIGCHLD, &sa, NULL) < 0) {
		perror("sigaction SIGCHLD");
		return 2;
	}
	for (;;)
		pause();
	return 42;
}
