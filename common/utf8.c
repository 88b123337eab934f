/* utf8.c: incremental UTF-8 validator (RFC 3629), fail-fast. */
#include <string.h>

#include "utf8.h"

/*
 * States say what the next byte must be.  The special second-byte states
 * exist so that overlongs (E0, F0), surrogates (ED) and code points above
 * U+10FFFF (F4) fail at the second byte, not at the end of the sequence.
 */
enum {
	U8_ACCEPT = 0,
	U8_CONT1,	/* one more 80..BF */
	U8_CONT2,	/* two more 80..BF */
	U8_CONT3,	/* three more 80..BF */
	U8_E0,		/* A0..BF, then one more */
	U8_ED,		/* 80..9F, then one more */
	U8_F0,		/* 90..BF, then two more */
	U8_F4,		/* 80..8F, then two more */
	U8_REJECT,	/* sticky: an impossible byte was seen */
};

void
utf8_init(struct utf8_state *s)
{
	s->u8_state = U8_ACCEPT;
	s->u8_codepoint = 0;
}

/* Lead byte: the state it leads to, or U8_REJECT. */
static uint32_t
utf8_lead(uint8_t c, uint32_t *cp)
{
	if (c < 0x80) {
		*cp = c;
		return U8_ACCEPT;
	}
	if (c < 0xc2)		/* stray continuation, or overlong C0/C1 */
		return U8_REJECT;
	if (c < 0xe0) {
		*cp = c & 0x1f;
		return U8_CONT1;
	}
	if (c < 0xf0) {
		*cp = c & 0x0f;
		return c == 0xe0 ? U8_E0 : c == 0xed ? U8_ED : U8_CONT2;
	}
	if (c < 0xf5) {
		*cp = c & 0x07;
		return c == 0xf0 ? U8_F0 : c == 0xf4 ? U8_F4 : U8_CONT3;
	}
	return U8_REJECT;
}

/* Continuation byte in state st: the next state, or U8_REJECT. */
static uint32_t
utf8_cont(uint32_t st, uint8_t c)
{
	uint8_t	lo = 0x80, hi = 0xbf;
	uint32_t next;

	switch (st) {
	case U8_CONT1:
		next = U8_ACCEPT;
		break;
	case U8_CONT2:
		next = U8_CONT1;
		break;
	case U8_CONT3:
		next = U8_CONT2;
		break;
	case U8_E0:
		lo = 0xa0;
		next = U8_CONT1;
		break;
	case U8_ED:
		hi = 0x9f;
		next = U8_CONT1;
		break;
	case U8_F0:
		lo = 0x90;
		next = U8_CONT2;
		break;
	case U8_F4:
		hi = 0x8f;
		next = U8_CONT2;
		break;
	default:
		return U8_REJECT;
	}
	if (c < lo || c > hi)
		return U8_REJECT;
	return next;
}

bool
utf8_feed(struct utf8_state *s, const uint8_t *buf, size_t len)
{
	uint32_t st = s->u8_state, cp = s->u8_codepoint;
	uint64_t w;
	size_t	 i = 0;

	if (st == U8_REJECT)
		return false;
	while (i < len) {
		if (st == U8_ACCEPT) {
			/* Chat text is mostly ASCII: skip it a word at a time. */
			while (len - i >= sizeof(w)) {
				memcpy(&w, buf + i, sizeof(w));
				if (w & 0x8080808080808080ULL)
					break;
				i += sizeof(w);
			}
			if (i == len)
				break;
			st = utf8_lead(buf[i], &cp);
		} else {
			st = utf8_cont(st, buf[i]);
			cp = (cp << 6) | (buf[i] & 0x3f);
		}
		if (st == U8_REJECT) {
			s->u8_state = U8_REJECT;
			return false;
		}
		i++;
	}
	s->u8_state = st;
	s->u8_codepoint = st == U8_ACCEPT ? 0 : cp;
	return true;
}

bool
utf8_complete(const struct utf8_state *s)
{
	return s->u8_state == U8_ACCEPT;
}

bool
utf8_valid(const uint8_t *buf, size_t len)
{
	struct utf8_state s;

	utf8_init(&s);
	return utf8_feed(&s, buf, len) && utf8_complete(&s);
}
