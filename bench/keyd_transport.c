/*
 * keyd for the encode benchmark, behind publishd's own keyd client
 * (publishd/keyd_client.c), so that a benchmarked build makes exactly the
 * requests publishd makes:
 *
 *   in-process   keyd_handle_request() called directly, through the same
 *                framing (ipc_parse) the daemon applies: the cost of the
 *                work keyd does, without the channel;
 *   exec         the keyd binary, started as the parent starts it (its
 *                parent channel at fd 3, the key file as an fd, the
 *                request channel passed over the parent channel): the
 *                same plus the socket round trips and two context
 *                switches per request.
 *
 * Both use a fresh random master key and the real clock.  The binary runs
 * in its sandbox, as in production: started as root, it must be told
 * whom to become (sandbox/sandbox.h, OB_SANDBOX), so the benchmark gives
 * it an unused numeric id and an empty directory of its own, as the
 * tests do.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "keyd.h"
#include "log.h"
#include "masterkey.h"

struct bench_keyd {
	struct keyd_client	 kc;
	uint8_t			 identity[32];
	/* in-process */
	struct keyd		*kd;
	struct ipc_channel	 req_ch;	/* to parse requests */
	struct ipc_channel	 rep_ch;	/* to parse replies */
	uint8_t			 rbuf[IPC_HDR_LEN + KEYD_REPLY_MAX];
	/* exec */
	pid_t			 pid;
	char			 jail[64];	/* "" unless we made one */
	struct ipc_channel	 parent;
	uint8_t			 pbuf[IPC_HDR_LEN + KEYD_PARENT_CAP];
};

/* keyd_handle_request() in-process, as keyd.c serves a request. */
static int
inproc_transact(struct keyd_client *kc, struct ipc_builder *req,
    struct ipc_msg *reply)
{
	struct bench_keyd *bk = kc->arg;
	struct ipc_builder rb;
	struct ipc_msg m;

	ipc_builder_init(&rb, bk->rbuf, sizeof(bk->rbuf), 0, 0);
	if (ipc_parse(&bk->req_ch, &m, req->buf, req->len) != IPC_OK ||
	    keyd_handle_request(bk->kd, &m, &rb) == -1)
		return -1;
	return ipc_parse(&bk->rep_ch, reply, rb.buf, rb.len) == IPC_OK ? 0 : -1;
}

struct bench_keyd *
bench_keyd_inproc(void)
{
	struct bench_keyd *bk;
	struct masterkey *mk;

	if ((bk = calloc(1, sizeof(*bk))) == NULL ||
	    (mk = masterkey_new()) == NULL ||
	    masterkey_generate(mk) != MASTERKEY_OK)
		fatalx("in-process keyd: key generation failed");
	memcpy(bk->identity, mk->pub, 32);
	if ((bk->kd = keyd_new(NULL)) == NULL ||
	    keyd_add_service_key(bk->kd, 0, mk) != KEYD_ERR_NONE)
		fatalx("in-process keyd: setup failed");
	bk->kd->config_done = 1;
	if (ipc_channel_init(&bk->req_ch, -1, "req", KEYD_REQUEST_CAP,
	    keyd_request_types, keyd_request_ntypes) == -1 ||
	    ipc_channel_init(&bk->rep_ch, -1, "rep", KEYD_REQUEST_CAP,
	    pd_keyd_types, pd_keyd_ntypes) == -1)
		fatalx("in-process keyd: channels");
	keyd_client_init(&bk->kc);
	bk->kc.transact = inproc_transact;
	bk->kc.arg = bk;
	bk->pid = -1;
	return bk;
}

/* One parent-channel exchange; the reply must be want_type. */
static void
parent_exchange(struct bench_keyd *bk, uint32_t type, int fd,
    int with_service, uint32_t want_type)
{
	struct ipc_builder b;
	struct ipc_msg m;
	enum ipc_status st;

	ipc_builder_init(&b, bk->pbuf, sizeof(bk->pbuf), type, type);
	if (with_service)
		ipc_add_u32(&b, 0);
	if (ipc_builder_finish(&b) == -1 || ipc_send(&bk->parent, &b, fd) == -1)
		fatal("keyd parent channel: send");
	if ((st = ipc_recv(&bk->parent, &m)) != IPC_OK)
		fatalx("keyd: %s (did it start? OB_BENCH_KEYD_STDERR=1 "
		    "shows its messages)", ipc_strerror(st));
	if (m.type != want_type)
		fatalx("keyd refused its configuration (reply type %u)",
		    m.type);
}

/* The key file, in tor's format, in a memfd keyd reads. */
static int
key_memfd(uint8_t identity[32])
{
	struct masterkey *mk;
	int fd;

	if ((mk = masterkey_new()) == NULL ||
	    masterkey_generate(mk) != MASTERKEY_OK ||
	    (fd = memfd_create("bench-key", MFD_CLOEXEC)) == -1 ||
	    masterkey_write_tor(fd, mk) != MASTERKEY_OK ||
	    lseek(fd, 0, SEEK_SET) != 0)
		fatal("keyd key file");
	memcpy(identity, mk->pub, 32);
	masterkey_free(mk);
	return fd;
}

#define BENCH_KEYD_UID	"61001"

/* As root: an empty root-owned directory for keyd's chroot, in OB_SANDBOX. */
static void
sandbox_env(struct bench_keyd *bk, char *env, size_t envsz)
{
	env[0] = '\0';
	if (geteuid() != 0 || getenv("OB_SANDBOX") != NULL)
		return;
	snprintf(bk->jail, sizeof(bk->jail), "/tmp/ob-bench-keyd.XXXXXX");
	if (mkdtemp(bk->jail) == NULL || chmod(bk->jail, 0555) == -1)
		fatal("keyd sandbox directory");
	if (snprintf(env, envsz, "%s:%s:%s", BENCH_KEYD_UID, BENCH_KEYD_UID,
	    bk->jail) >= (int)envsz)
		fatalx("keyd sandbox directory name too long");
}

/*
 * fork + exec keyd with its parent channel at fd 3.  Its stderr (an audit
 * line per signature) is discarded unless OB_BENCH_KEYD_STDERR is set.
 */
static pid_t
spawn(const char *path, int child_end, const char *sandbox)
{
	pid_t pid;
	int devnull;

	if ((pid = fork()) == -1)
		fatal("fork");
	if (pid == 0) {
		if (dup2(child_end, KEYD_PARENT_FD) == -1 ||
		    (sandbox[0] != '\0' && setenv("OB_SANDBOX", sandbox, 1)))
			_exit(126);
		if (getenv("OB_BENCH_KEYD_STDERR") == NULL &&
		    ((devnull = open("/dev/null", O_WRONLY)) == -1 ||
		    dup2(devnull, STDERR_FILENO) == -1))
			_exit(126);
		execl(path, "keyd", (char *)NULL);
		_exit(127);
	}
	return pid;
}

struct bench_keyd *
bench_keyd_exec(const char *path)
{
	struct bench_keyd *bk;
	char sandbox[128];
	int pv[2], rq[2], kfd;

	if (access(path, X_OK) == -1)
		fatal("cannot run %s", path);
	if ((bk = calloc(1, sizeof(*bk))) == NULL ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pv) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, rq) == -1)
		fatal("keyd channels");
	sandbox_env(bk, sandbox, sizeof(sandbox));
	bk->pid = spawn(path, pv[1], sandbox);
	close(pv[1]);
	if (ipc_channel_init(&bk->parent, pv[0], "bench->keyd",
	    KEYD_PARENT_CAP, keyd_parent_types, keyd_parent_ntypes) == -1)
		fatalx("keyd parent channel");
	parent_exchange(bk, KEYD_P_REQUEST_CHANNEL, rq[1], 0,
	    KEYD_P_REQUEST_CHANNEL_REPLY);
	close(rq[1]);
	kfd = key_memfd(bk->identity);
	parent_exchange(bk, KEYD_P_KEY, kfd, 1, KEYD_P_KEY_REPLY);
	close(kfd);
	parent_exchange(bk, KEYD_P_CONFIG_DONE, -1, 0,
	    KEYD_P_CONFIG_DONE_REPLY);
	keyd_client_init(&bk->kc);
	if (keyd_client_set_fd(&bk->kc, rq[0]) == -1)
		fatalx("keyd request channel");
	return bk;
}

struct keyd_client *
bench_keyd_client(struct bench_keyd *bk)
{
	return &bk->kc;
}

const uint8_t *
bench_keyd_identity(const struct bench_keyd *bk)
{
	return bk->identity;
}

void
bench_keyd_free(struct bench_keyd *bk)
{
	int status;

	if (bk == NULL)
		return;
	if (bk->kd != NULL) {
		keyd_free(bk->kd);
		ipc_channel_close(&bk->req_ch);
		ipc_channel_close(&bk->rep_ch);
	} else
		keyd_client_close(&bk->kc);
	if (bk->pid > 0) {
		/* EOF on its parent channel ends keyd (exit 0). */
		ipc_channel_close(&bk->parent);
		if (waitpid(bk->pid, &status, 0) != bk->pid ||
		    !WIFEXITED(status) || WEXITSTATUS(status) != 0)
			log_warnx("keyd did not exit cleanly");
	}
	if (bk->jail[0] != '\0' && rmdir(bk->jail) == -1)
		log_warn("rmdir %s", bk->jail);
	free(bk);
}
