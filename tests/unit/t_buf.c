/*
 * t_buf — util/buf: the bounded reader and writer. Values in network order, reads and
 * writes up to the exact end, one octet more refused, and the error sticky: after the
 * first failure every read returns zeros and every write writes nothing, even ones that
 * would fit. The inline fast paths must keep exactly these rules.
 */
#include <stdint.h>
#include <string.h>

#include "util/buf.h"
#include "tap.h"

static const uint8_t B[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09};

static void
test_get(void)
{
	struct buf_rd b;
	uint8_t out[8];

	buf_rd_init(&b, B, sizeof(B));
	is_int(buf_left(&b), 9, "init: 9 left");
	is_int(buf_get8(&b), 0x01, "get8");
	is_int(buf_get16(&b), 0x0203, "get16 network order");
	is_int(buf_get32(&b), 0x04050607, "get32 network order");
	is_int(b.off, 7, "  offset 7");
	buf_get(&b, out, 2);
	ok(buf_rd_ok(&b) && out[0] == 0x08 && out[1] == 0x09, "get 2: the last two, exact end");
	is_int(buf_left(&b), 0, "  nothing left");
	buf_get(&b, NULL, 0);
	ok(buf_rd_ok(&b), "get 0 at the end is fine");
	is_int(buf_get8(&b), 0, "get8 past the end: 0");
	ok(!buf_rd_ok(&b), "  and the cursor failed");
	is_int(buf_left(&b), 0, "  left 0");

	/* Sticky: rewinding does not help, nothing more is read. */
	buf_seek(&b, 0);
	ok(!buf_rd_ok(&b) && b.off == 9, "seek after failure: still failed, not moved");
	is_int(buf_get8(&b), 0, "get8 after failure: 0");
	is_int(buf_get16(&b), 0, "get16 after failure: 0");
	is_int(buf_get32(&b), 0, "get32 after failure: 0");
	memset(out, 0xee, sizeof(out));
	buf_get(&b, out, 4);
	ok(out[0] == 0 && out[3] == 0 && out[4] == 0xee, "get after failure zeroes exactly n");
	buf_get(&b, out, 0);
	ok(!buf_rd_ok(&b), "get 0 after failure: still failed");

	/* A short read fails whole: the cursor does not move, the value is 0. */
	buf_rd_init(&b, B, 3);
	buf_skip(&b, 1);
	is_int(buf_get32(&b), 0, "get32 with 2 left: 0");
	ok(!buf_rd_ok(&b) && b.off == 1, "  failed, offset unchanged");
	buf_rd_init(&b, B, 1);
	is_int(buf_get16(&b), 0, "get16 with 1 left: 0");
	ok(!buf_rd_ok(&b), "  failed");
	buf_rd_init(&b, B, 0);
	is_int(buf_get8(&b), 0, "get8 of nothing: 0");
	ok(!buf_rd_ok(&b), "  failed");
	buf_rd_init(&b, B, 4);
	memset(out, 0xee, sizeof(out));
	buf_get(&b, out, 5);
	ok(!buf_rd_ok(&b) && b.off == 0 && out[0] == 0 && out[4] == 0 && out[5] == 0xee,
	    "get 5 of 4: failed, zeroed, not moved");
	buf_rd_init(&b, B, 4);
	buf_get(&b, NULL, SIZE_MAX);
	ok(!buf_rd_ok(&b), "get SIZE_MAX: failed, no overflow");
	buf_rd_init(&b, B, 4);
	buf_skip(&b, 4);
	ok(buf_rd_ok(&b) && b.off == 4, "skip to the exact end");
	buf_skip(&b, 1);
	ok(!buf_rd_ok(&b) && b.off == 4, "skip one more: failed, not moved");
}

static void
test_seek(void)
{
	struct buf_rd b;

	buf_rd_init(&b, B, sizeof(B));
	buf_seek(&b, 9);
	ok(buf_rd_ok(&b) && buf_left(&b) == 0, "seek to the end");
	buf_seek(&b, 4);
	is_int(buf_get8(&b), 0x05, "seek back and read");
	buf_seek(&b, 10);
	ok(!buf_rd_ok(&b), "seek past the end fails");
	buf_rd_init(&b, B, sizeof(B));
	buf_rd_fail(&b);
	ok(!buf_rd_ok(&b) && buf_left(&b) == 0, "rd_fail");
	is_int(buf_get8(&b), 0, "  then get8 is 0");
}

static void
test_put(void)
{
	struct buf_wr w;
	uint8_t out[10];

	memset(out, 0xee, sizeof(out));
	buf_wr_init(&w, out, 9);
	buf_put8(&w, 0x01);
	buf_put16(&w, 0x0203);
	buf_put32(&w, 0x04050607);
	buf_put(&w, "\x08\x09", 2);
	ok(buf_wr_ok(&w) && w.len == 9 && memcmp(out, B, 9) == 0, "put: network order, exact fit");
	buf_put(&w, NULL, 0);
	ok(buf_wr_ok(&w), "put 0 at the end is fine");
	buf_put8(&w, 0xff);
	ok(!buf_wr_ok(&w) && w.len == 9 && out[9] == 0xee, "put8 past the end: nothing written");

	/* Each width refused whole when it does not fit, and the error sticks. */
	memset(out, 0xee, sizeof(out));
	buf_wr_init(&w, out, 3);
	buf_put16(&w, 0x0102);
	buf_put16(&w, 0x0304);
	ok(!buf_wr_ok(&w) && w.len == 2 && out[2] == 0xee, "put16 with 1 left: nothing written");
	buf_put8(&w, 0x05);
	ok(w.len == 2 && out[2] == 0xee, "put8 after failure: nothing, though it would fit");
	memset(out, 0xee, sizeof(out));
	buf_wr_init(&w, out, 3);
	buf_put32(&w, 0x01020304);
	ok(!buf_wr_ok(&w) && w.len == 0 && out[0] == 0xee, "put32 with 3 left: nothing written");
	buf_wr_init(&w, out, 3);
	buf_put(&w, "abcd", 4);
	ok(!buf_wr_ok(&w) && w.len == 0 && out[0] == 0xee, "put 4 of 3: nothing written");
	buf_wr_init(&w, out, 0);
	buf_put8(&w, 1);
	ok(!buf_wr_ok(&w), "put8 into nothing fails");

	/* patch16 only over octets already written. */
	buf_wr_init(&w, out, sizeof(out));
	buf_put32(&w, 0);
	buf_patch16(&w, 2, 0xabcd);
	ok(buf_wr_ok(&w) && out[2] == 0xab && out[3] == 0xcd, "patch16 at the last two octets");
	buf_patch16(&w, 3, 1);
	ok(!buf_wr_ok(&w), "patch16 over the end of what was written fails");
	buf_wr_init(&w, out, sizeof(out));
	buf_patch16(&w, 0, 1);
	ok(!buf_wr_ok(&w), "patch16 of nothing written fails");
}

int
main(void)
{
	test_get();
	test_seek();
	test_put();
	return done_testing();
}
