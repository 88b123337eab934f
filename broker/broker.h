/* broker.h: the broker process: owns connections' shared state, rooms,
 * presence, SQLite, and the control socket.  Only its entry point is public;
 * the context it runs on is in state.h. */
#ifndef PARLEY_BROKER_H
#define PARLEY_BROKER_H

struct parley_config;

int	broker_main(const struct parley_config *cfg, int sup_fd, int api_fd,
	    int ctl_fd);

#endif
