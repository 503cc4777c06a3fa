/*
 * What the files of the publishd process (proc.h) call on it: a message
 * to the parent, and the timer: do what is due, then sleep until the
 * next thing is.
 */
#include <time.h>

#include "proc.h"

/* With nothing scheduled, look again after this long anyway. */
#define IDLE_WAKE_S	60

void
proc_send_parent(struct pd_proc *p, enum parent_child_msg type,
    const uint32_t *u32)
{
	struct ipc_builder b;

	ipc_builder_init(&b, p->buf, sizeof(p->buf), type, 0);
	if (u32 != NULL)
		ipc_add_u32(&b, *u32);
	ipc_send_or_die(&p->parent, &b, -1);
}

/* Does what is due and sleeps until the next thing is. */
void
proc_rearm(struct pd_proc *p)
{
	struct timeval tv = { IDLE_WAKE_S, 0 };
	time_t now = time(NULL), next;

	if (p->pd.generation == 0)
		return;		/* no configuration yet: no work */
	next = pd_tick(&p->pd, now);
	if (next > now && next - now < IDLE_WAKE_S)
		tv.tv_sec = next - now;
	else if (next != 0 && next <= now)
		tv.tv_sec = 1;
	evtimer_add(p->timer, &tv);
}
