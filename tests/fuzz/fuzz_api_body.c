/* fuzz_api_body.c: a POST /api/publish body through the broker's parser
 * and checks (api_body.c).  What it accepts is a valid room with either
 * a text or an event, and a refusal always says why. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "api_body.h"
#include "chat.h"
#include "fuzz.h"
#include "service.h"

#define FUZZ_MAX_TEXT	64

/* A user the body gives is accepted only if chat_user_valid says so. */
static int
pr_user_checked(json_object *obj)
{
	struct publish_req	 pr;
	struct api_fail		 f;
	json_object		*v;

	if (!json_object_object_get_ex(obj, "user", &v) || v == NULL ||
	    !json_object_is_type(v, json_type_string))
		return 0;
	if (api_publish_parse(obj, FUZZ_MAX_TEXT, &pr, &f) == -1)
		return 0;
	return chat_user_valid(json_object_get_string(v),
	    (size_t)json_object_get_string_len(v)) ? 0 : -1;
}

int
fuzz_api_body(const uint8_t *data, size_t len)
{
	struct publish_req	 pr;
	struct api_fail		 f;
	json_object		*obj = NULL;
	char			*body, why[256];
	int			 bad = 0;

	/* A heap copy, so ASan sees any read past the body. */
	if ((body = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(body, data, len);
	why[0] = '\0';
	if (api_parse_body(body, len, &obj, why, sizeof(why)) == -1) {
		bad = obj != NULL || why[0] == '\0';
		goto done;
	}
	/* The edge reads the body and never writes it (json_in.c rewrites
	 * lone surrogates in a copy of its own). */
	if (memcmp(body, data, len) != 0) {
		bad = 1;
		goto done;
	}
	if (pr_user_checked(obj) == -1) {
		bad = 1;
		goto done;
	}
	memset(&f, 0, sizeof(f));
	if (api_publish_parse(obj, FUZZ_MAX_TEXT, &pr, &f) == -1) {
		bad = f.af_msg[0] == '\0';
		goto done;
	}
	if (pr.pr_room == NULL ||
	    !chat_room_valid(pr.pr_room, strlen(pr.pr_room)) ||
	    (pr.pr_text == NULL) == (pr.pr_event == NULL) ||
	    (pr.pr_event != NULL && pr.pr_data == NULL) ||
	    (pr.pr_text != NULL && chat_text_count(pr.pr_text,
	    strlen(pr.pr_text), CHAT_TEXT_MSG) > FUZZ_MAX_TEXT) ||
	    (!pr.pr_persist && pr.pr_text != NULL))
		bad = 1;
done:
	json_object_put(obj);
	free(body);
	return bad;
}

#ifdef PARLEY_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int
LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (fuzz_api_body(d, n) != 0)
		abort();
	return 0;
}
#endif
