/* utf8.h: incremental UTF-8 validator (RFC 3629): no overlongs, no
 * surrogates, nothing above U+10FFFF.  Pure. */
#ifndef PARLEY_UTF8_H
#define PARLEY_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct utf8_state {
	uint32_t	u8_state;	/* DFA state: 0 accept, else mid-sequence */
	uint32_t	u8_codepoint;	/* partial code point */
};

void	utf8_init(struct utf8_state *s);
/* Feed bytes; returns false at the first byte that can never be valid. */
bool	utf8_feed(struct utf8_state *s, const uint8_t *buf, size_t len);
/* True when no sequence is left open (call at the end of a message). */
bool	utf8_complete(const struct utf8_state *s);
/* Whole-buffer convenience. */
bool	utf8_valid(const uint8_t *buf, size_t len);

#endif
