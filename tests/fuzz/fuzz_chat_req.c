/* fuzz_chat_req.c: client JSON -> validated request -> IPC -> decoded
 * request.  Whatever the worker accepts, the broker's decoder must accept
 * too, with the same fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "chat_req.h"
#include "fuzz.h"
#include "ipc.h"

int
fuzz_chat_req(const uint8_t *data, size_t len)
{
	struct chat_parsed p;
	struct chat_limits lim;
	int bad = 0;

	chat_limits_default(&lim);
	lim.cl_max_text = 64;
	if (chat_req_parse((const char *)data, len, &lim, &p) == 0 &&
	    p.cp_kind == CHAT_PARSED_REQ) {
		struct ipc_msg m;
		struct ipc_reader r;
		struct chat_req back;

		ipc_msg_init(&m, IPC_CLIENT_REQ, 1);
		chat_req_encode(&m, &p.cp_req);
		if (ipc_msg_finish(&m) == -1)
			bad = 1;
		else {
			ipc_reader_init(&r, m.im_buf + IPC_HDR_SIZE,
			    m.im_len - IPC_HDR_SIZE);
			if (chat_req_decode(&r, &back) == -1)
				bad = 1;
			else {
				if (back.cr_kind != p.cp_req.cr_kind ||
				    strcmp(back.cr_room, p.cp_req.cr_room) != 0 ||
				    strcmp(back.cr_id, p.cp_req.cr_id) != 0)
					bad = 1;
				chat_req_free(&back);
			}
		}
		ipc_msg_free(&m);
	}
	chat_parsed_free(&p);
	return bad;
}

#ifdef PARLEY_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (fuzz_chat_req(d, n) != 0)
		abort();
	return 0;
}
#endif
