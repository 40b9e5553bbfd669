/*
 * test_vhost_mem.c - mapping front-end memory regions from memfds: the
 * bytes land where the region says (also with a mmap offset that is not page
 * aligned), bad regions are refused with their own errno, and a failed table
 * leaves no mapping behind and the fds with the caller; the same region
 * added twice (QEMU multiqueue) is reference-counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "vhost/vhost_mem.h"

#define MB (1024 * 1024)

static int memfd(size_t size)
{
	int fd = memfd_create("test_vhost_mem", MFD_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)size), 0);
	return fd;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static unsigned maps_lines(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	unsigned n = 0;
	int c;

	assert_non_null(f);
	while ((c = fgetc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void test_map_bytes_and_unaligned_offset(void **state)
{
	(void)state;
	int fd = memfd(MB);
	struct vhost_user_mem_region r = {0x100000, 0x10000, 0x7f0000000000, 0x1800};
	struct gmem_region g;

	assert_int_equal(pwrite(fd, "hello", 5, 0x1800), 5);
	assert_int_equal(pwrite(fd, "tail!", 5, 0x1800 + 0x10000 - 5), 5);
	assert_int_equal(vhost_mem_map_region(&r, fd, &g), 0);
	assert_memory_equal(g.host, "hello", 5);
	assert_memory_equal(g.host + 0x10000 - 5, "tail!", 5);
	assert_int_equal((uintptr_t)g.map_base % (uintptr_t)sysconf(_SC_PAGESIZE), 0);
	assert_true(g.map_len >= 0x10000 + 0x800);
	assert_int_equal(g.fd, fd);
	assert_int_equal(g.gpa, 0x100000);
	assert_int_equal(g.uva, 0x7f0000000000);
	/* MAP_SHARED: our writes reach the front-end's file. */
	memcpy(g.host + 8, "xy", 2);
	char buf[2];
	assert_int_equal(pread(fd, buf, 2, 0x1808), 2);
	assert_memory_equal(buf, "xy", 2);
	vhost_mem_unmap_region(&g);
	assert_false(fd_open(fd));
	assert_int_equal(g.fd, -1);
	vhost_mem_unmap_region(&g); /* idempotent */
}

static void test_map_refusals(void **state)
{
	(void)state;
	int fd = memfd(MB);
	struct gmem_region g;
	struct vhost_user_mem_region r;

	r = (struct vhost_user_mem_region){0, MB, 0x1000, 1};
	assert_int_equal(vhost_mem_map_region(&r, fd, &g), -ERANGE); /* one byte past the end */
	r = (struct vhost_user_mem_region){0, 0x1000, 0x1000, MB};
	assert_int_equal(vhost_mem_map_region(&r, fd, &g), -ERANGE); /* starts at the end */
	r = (struct vhost_user_mem_region){0, 0x2000, 0x1000, ~0ull - 0xfff};
	assert_int_equal(vhost_mem_map_region(&r, fd, &g), -EOVERFLOW);
	r = (struct vhost_user_mem_region){0, 0, 0x1000, 0};
	assert_int_equal(vhost_mem_map_region(&r, fd, &g), -EINVAL);
	r = (struct vhost_user_mem_region){0, 0x1000, 0x1000, 0};
	assert_int_equal(vhost_mem_map_region(&r, -1, &g), -EBADF);
	int dn = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_int_equal(vhost_mem_map_region(&r, dn, &g), -ENODEV);
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(vhost_mem_map_region(&r, p[0], &g), -ENODEV);
	/* Failures never close the caller's fd. */
	assert_true(fd_open(fd) && fd_open(dn) && fd_open(p[0]));
	close(fd);
	close(dn);
	close(p[0]);
	close(p[1]);
	for (int e = 1; e < 140; e++)
		assert_non_null(vhost_mem_strerror(-e));
}

static void test_load_table_failure_leaves_nothing(void **state)
{
	(void)state;
	struct gmem *m = malloc(sizeof(*m));
	struct vhost_user_mem_table t = {.nregions = 3};
	int fds[3] = {memfd(MB), memfd(MB), memfd(MB)};
	int copy[3];
	unsigned bad;

	gmem_init(m);
	t.regions[0] = (struct vhost_user_mem_region){0, MB, 0x10000000, 0};
	t.regions[1] = (struct vhost_user_mem_region){MB, MB, 0x20000000, 0};
	t.regions[2] =
	    (struct vhost_user_mem_region){2 * MB, MB, 0x30000000, 0x1000}; /* past end */
	memcpy(copy, fds, sizeof(fds));
	unsigned before = maps_lines();
	assert_int_equal(vhost_mem_load_table(m, &t, fds, &bad), -ERANGE);
	assert_int_equal(bad, 2);
	assert_int_equal(m->nregions, 0);
	assert_memory_equal(copy, fds, sizeof(fds)); /* not taken */
	for (int i = 0; i < 3; i++)
		assert_true(fd_open(fds[i]));
	assert_int_equal(maps_lines(), before);

	/* Overlap found by gmem_add (user addresses). */
	t.regions[2] = (struct vhost_user_mem_region){2 * MB, MB, 0x20000000 + 0x1000, 0};
	assert_int_equal(vhost_mem_load_table(m, &t, fds, &bad), -EINVAL);
	assert_int_equal(bad, 2);
	assert_int_equal(m->nregions, 0);

	/* A good table takes every fd. */
	t.regions[2] = (struct vhost_user_mem_region){2 * MB, MB, 0x30000000, 0};
	assert_int_equal(vhost_mem_load_table(m, &t, fds, &bad), 0);
	assert_int_equal(m->nregions, 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(fds[i], -1);
	assert_non_null(gmem_uva_to_host(m, 0x20000000 + 100, 100));
	assert_true(maps_lines() > before);
	vhost_mem_clear(m);
	assert_int_equal(m->nregions, 0);
	assert_int_equal(maps_lines(), before);
	for (int i = 0; i < 3; i++)
		assert_false(fd_open(copy[i]));
	free(m);
}

static void test_add_remove(void **state)
{
	(void)state;
	struct gmem *m = malloc(sizeof(*m));
	struct vhost_user_mem_region a = {0, MB, 0x10000000, 0};
	struct vhost_user_mem_region b = {MB, MB, 0x20000000, 0};
	int fa = memfd(MB), fb = memfd(MB), fc = memfd(MB);
	int ka = fa, kb = fb;

	gmem_init(m);
	assert_int_equal(vhost_mem_add(m, &a, &fa), 0);
	assert_int_equal(fa, -1);
	assert_int_equal(vhost_mem_add(m, &b, &fb), 0);
	struct vhost_user_mem_region over = {MB / 2, MB, 0x30000000, 0};
	assert_int_equal(vhost_mem_add(m, &over, &fc), -EINVAL); /* overlaps a and b */
	assert_true(fd_open(fc));
	/* QEMU with mq=on sends each region once per queue pair: a reference, fd not taken. */
	unsigned maps = maps_lines();
	assert_int_equal(vhost_mem_add(m, &a, &fc), 0);
	assert_true(fd_open(fc));
	assert_int_equal(maps_lines(), maps);
	assert_int_equal(m->nregions, 2);
	struct vhost_user_mem_region wrong = {MB, MB, 0x20001000, 0};
	assert_int_equal(vhost_mem_remove(m, &wrong), -ENOENT);
	assert_int_equal(vhost_mem_remove(m, &a), 0); /* drops the second reference */
	assert_true(fd_open(ka));
	assert_int_equal(m->nregions, 2);
	assert_int_equal(vhost_mem_remove(m, &a), 0); /* the last one unmaps */
	assert_false(fd_open(ka));
	assert_true(fd_open(kb));
	assert_int_equal(m->nregions, 1);
	vhost_mem_clear(m);
	assert_false(fd_open(kb));
	close(fc);
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map_bytes_and_unaligned_offset),
	    cmocka_unit_test(test_map_refusals),
	    cmocka_unit_test(test_load_table_failure_leaves_nothing),
	    cmocka_unit_test(test_add_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
