/*
 * fuzz_vhost_msg.c - libFuzzer target for the vhost-user control path: the
 * input is a sequence of messages, each fed to the pure validator
 * (vhost_msg_check) and then to the dispatcher (vhost_dev_handle) of one
 * device, with real fds so the dispatcher's fd ownership is exercised.
 *
 * Input: repeated records of
 *   1 byte  fd selector: bits 0-3 count (mod 10, so 9 = too many), bits 4-5
 *           kind (0 dup of a 1 MiB memfd, 1 eventfd, 2 dup of /dev/null,
 *           3 the invalid fd -1), bit 6 rotate the kind per fd
 *   12 bytes vhost_user_hdr
 *   min(hdr.size, what is left) payload bytes
 * A handle result < 0 (connection beyond repair) disconnects the device, as
 * the socket layer would. Invariants checked: queue_state alternates per
 * queue (never "ready" twice or "stopped" twice), a reply is well formed,
 * and after each input every fd is closed again (the lowest free fd number
 * is unchanged).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/log.h"
#include "vhost/vhost_dev.h"
#include "vhost/vhost_msg.h"

#define FUZZ_MEM_SIZE (1u << 20)

static int memfd_master = -1;
static int devnull_master = -1;
static int lowest_free_fd = -1;
static bool ready[VHOST_MAX_QUEUES];

static void on_queue(void *opaque, struct vhost_dev *dev, uint16_t q, bool up)
{
	(void)opaque;
	if (q >= VHOST_MAX_QUEUES || ready[q] == up)
		abort();
	/* Start after setup, stop before teardown: the ring must be set both times. */
	if (vhost_dev_vq(dev, q)->desc == NULL || !vhost_dev_queue_ready(dev, q))
		abort();
	ready[q] = up;
}

static void on_conn(void *opaque, struct vhost_dev *dev, bool up)
{
	(void)opaque, (void)dev, (void)up;
}

static const struct vhost_dev_ops ops = {.queue_state = on_queue, .conn_state = on_conn};

static int probe_fd(void)
{
	int fd = dup(devnull_master);

	if (fd >= 0)
		close(fd);
	return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	rs_log_set_level(RS_LOG_ERR); /* rejected messages log at warn */
	memfd_master = memfd_create("fuzz_guest", MFD_CLOEXEC);
	devnull_master = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (memfd_master < 0 || devnull_master < 0 || ftruncate(memfd_master, FUZZ_MEM_SIZE) < 0)
		abort();
	lowest_free_fd = probe_fd();
	return 0;
}

static int make_fd(unsigned kind)
{
	switch (kind & 3) {
	case 0:
		return dup(memfd_master);
	case 1:
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	case 2:
		return dup(devnull_master);
	default:
		return -1;
	}
}

static void check_reply(const struct vhost_user_msg *msg, const struct vhost_user_msg *reply)
{
	if (reply->hdr.request != msg->hdr.request ||
	    reply->hdr.flags != (VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY) ||
	    reply->hdr.size > sizeof(reply->payload.addr))
		abort();
}

/* Feeds one record; returns the bytes it used. */
static size_t feed_one(struct vhost_dev *dev, const uint8_t *data, size_t size)
{
	static struct vhost_user_msg msg, reply;
	struct vhost_msg_ctx ctx = {.nr_queues = 4, .proto_features = ~0ull};
	int fds[10];
	uint8_t sel = data[0];
	unsigned nfds = (sel & 0xf) % 10;

	memset(&msg, 0, sizeof(msg));
	memcpy(&msg.hdr, data + 1, sizeof(msg.hdr));
	size_t used = 1 + sizeof(msg.hdr);
	size_t plen = msg.hdr.size;
	if (plen > size - used)
		plen = size - used;
	if (plen > VHOST_USER_PAYLOAD_MAX)
		plen = VHOST_USER_PAYLOAD_MAX;
	memcpy(msg.payload.raw, data + used, plen);
	used += plen;

	if ((unsigned)vhost_msg_check(&msg, nfds, &ctx) >= VHOST_MSG_E_COUNT)
		abort();
	for (unsigned i = 0; i < nfds; i++)
		fds[i] = make_fd((sel >> 4) + ((sel & 0x40) ? i : 0));
	int rc = vhost_dev_handle(dev, &msg, fds, nfds, &reply);
	if (rc < 0)
		vhost_dev_disconnect(dev);
	else if (rc == 1)
		check_reply(&msg, &reply);
	else if (rc != 0)
		abort();
	return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vhost_dev_cfg cfg = {.name = "fuzz", .max_queue_pairs = 2, .mtu = 1500};
	struct vhost_dev *dev = vhost_dev_new(&cfg, &ops, NULL);

	if (dev == NULL)
		abort();
	memset(ready, 0, sizeof(ready));
	while (size >= 1 + sizeof(struct vhost_user_hdr)) {
		size_t used = feed_one(dev, data, size);
		data += used;
		size -= used;
	}
	vhost_dev_free(dev);
	for (unsigned q = 0; q < VHOST_MAX_QUEUES; q++)
		if (ready[q])
			abort(); /* free must stop every queue */
	if (probe_fd() != lowest_free_fd)
		abort(); /* an fd leaked */
	return 0;
}
