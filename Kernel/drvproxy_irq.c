// SPDX-License-Identifier: GPL-2.0
/*
 * drvproxy: interrupts, the event ring, and what keeps a device from
 * harming its neighbours: the INTx-disable bit and every other change to
 * PCI_COMMAND (under ring_lock, like the top half's), the rules for sharing
 * a line without that bit, and the MSI-X table and PBA kept out of reach
 * of register programs and mmap.
 *
 * The top half runs the device's ACK program under ring_lock, which decides
 * on a shared line whether the interrupt is ours and quiets the device, and
 * queues one record per claimed interrupt. It never sleeps and never takes
 * the device mutex.
 */
#include <linux/interrupt.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/poll.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "drvproxy_priv.h"

#define RING_MASK	(DRVPROXY_RING_ENTRIES - 1)
/* Records copied out per trip through ring_lock in read(). */
#define READ_BATCH	8

static_assert(DRVPROXY_RING_ENTRIES >= 2 &&
	      (DRVPROXY_RING_ENTRIES & RING_MASK) == 0);

int drvproxy_ring_alloc(struct drvproxy_dev *dp)
{
	mutex_init(&dp->read_lock);
	dp->ring = kvcalloc(DRVPROXY_RING_ENTRIES, sizeof(*dp->ring),
			    GFP_KERNEL);
	return dp->ring ? 0 : -ENOMEM;
}

void drvproxy_ring_free(struct drvproxy_dev *dp)
{
	kvfree(dp->ring);
}

/*
 * A new owner starts with an empty ring and sequence number 1. A read()
 * begun for the old owner, even one stalled in a page fault (waiting for
 * it could stall open()), sees the generation change and takes nothing
 * off the new ring.
 */
void drvproxy_ring_reset(struct drvproxy_dev *dp)
{
	unsigned long flags;

	spin_lock_irqsave(&dp->ring_lock, flags);
	dp->ring_gen++;
	dp->head = 0;
	dp->tail = 0;
	dp->next_seq = 0;
	dp->pending_drops = 0;
	dp->drops_since_read = false;
	dp->storm_count = 0;
	spin_unlock_irqrestore(&dp->ring_lock, flags);
	wake_up_interruptible_all(&dp->wait);
}

static void ring_fill(struct drvproxy_event *ev, u64 seq, u32 vector,
		      u32 flags, u64 dropped, const struct regprog_result *res)
{
	u32 i;

	ev->seq = seq;
	ev->timestamp_ns = ktime_get_ns();
	ev->vector = vector;
	ev->flags = flags | (dropped ? DRVPROXY_EVENT_DROPPED : 0);
	ev->dropped = min_t(u64, dropped, U32_MAX);
	ev->nsnap = res->nsnap;
	for (i = 0; i < DRVPROXY_MAX_SNAPSHOTS; i++)
		ev->snap[i] = i < res->nsnap ? res->snap[i] : 0;
}

/*
 * Queue the record of one claimed interrupt (or an error); ring_lock held.
 * Records fill DRVPROXY_RING_CAPACITY slots; the last slot is kept for a
 * storm or error record: no later record would carry that news. Nothing
 * between tail and head is ever overwritten, as a reader may be copying it
 * out.
 */
static void ring_push(struct drvproxy_dev *dp, u32 vector, u32 flags,
		      const struct regprog_result *res)
{
	/* Storm and error records are the last word of a source: never lost. */
	u32 room = (flags & (DRVPROXY_EVENT_STORM | DRVPROXY_EVENT_ERROR)) ?
		   DRVPROXY_RING_ENTRIES : DRVPROXY_RING_CAPACITY;
	u64 seq = ++dp->next_seq;

	if (dp->head - dp->tail >= room) {
		dp->pending_drops++;
		dp->drops_since_read = true;
		atomic64_inc(&dp->dropped);
		return;
	}
	ring_fill(&dp->ring[dp->head++ & RING_MASK], seq, vector, flags,
		  dp->pending_drops, res);
	dp->pending_drops = 0;
}

/*
 * Set or clear bits of PCI_COMMAND; ring_lock held. Every read-modify-
 * write of the register that drvproxy does goes through here or through
 * pci_check_and_{un,}mask_intx() under ring_lock, so none can undo
 * another's, the top half's included. (pci_alloc_irq_vectors() and
 * pci_free_irq_vectors() toggle the INTx-disable bit too, but only while
 * no INTx handler of ours is installed.)
 */
static void command_write(struct drvproxy_dev *dp, u16 bits, bool set)
{
	u16 cmd, want;

	pci_read_config_word(dp->pdev, PCI_COMMAND, &cmd);
	want = set ? cmd | bits : cmd & ~bits;
	if (want != cmd)
		pci_write_config_word(dp->pdev, PCI_COMMAND, want);
}

/*
 * Set or clear the INTx-disable bit; ring_lock held. Not pci_intx(): in
 * newer kernels it may allocate, and so sleep, for a managed device.
 */
static void intx_write(struct drvproxy_dev *dp, bool disable)
{
	command_write(dp, PCI_COMMAND_INTX_DISABLE, disable);
	dp->intx_masked = disable;
}

/*
 * Bus mastering on or off, serialised with the top half's INTx masking.
 * Not pci_set_master(): its read-modify-write of PCI_COMMAND takes no lock
 * of ours. The PCI latency timer, which pci_set_master() also sets on
 * conventional PCI, is left as the firmware set it.
 */
void drvproxy_set_bus_master(struct drvproxy_dev *dp, bool on)
{
	unsigned long flags;

	spin_lock_irqsave(&dp->ring_lock, flags);
	command_write(dp, PCI_COMMAND_MASTER, on);
	dp->pdev->is_busmaster = on;
	spin_unlock_irqrestore(&dp->ring_lock, flags);
}

/*
 * Mask a storming source until UNMASK; ring_lock held, any context. On an
 * INTx line the INTx-disable bit silences just our device, and always:
 * not pci_check_and_mask_intx(), which masks only while the device's
 * interrupt status is set, and a good ACK program has cleared it by now.
 * Only a device without the bit has its whole line disabled, as the last
 * resort against a hung CPU; such a device may share a line only with an
 * ACK program that can say NOT_MINE (see check_irq_request()). An MSI
 * vector is ours alone.
 */
static void storm_mask(struct drvproxy_dev *dp, struct drvproxy_vec *vec)
{
	switch (dp->irq_mode) {
	case DRVPROXY_IRQ_INTX_DISABLE:
		return;		/* the handler has masked it already */
	case DRVPROXY_IRQ_INTX_SHARED:
		if (dp->intx_mask_ok) {
			intx_write(dp, true);
			return;
		}
		if (!vec->line_disabled)
			dev_warn_ratelimited(&dp->pdev->dev,
					     "interrupt storm and no INTx-disable bit: IRQ %u disabled until UNMASK or release\n",
					     vec->irq);
		break;
	default:
		break;
	}
	if (!vec->line_disabled) {
		disable_irq_nosync(vec->irq);
		vec->line_disabled = true;
	}
}

/*
 * Run the ACK program and queue the event; ring_lock held. Only on a shared
 * line may the program answer NOT_MINE: elsewhere the interrupt is known to
 * be ours and the program runs for its side effects and snapshots.
 */
static bool claim(struct drvproxy_dev *dp, struct drvproxy_vec *vec,
		  bool ack_decides)
{
	struct regprog_result res = { .nsnap = 0 };
	u32 flags = 0;

	if (dp->ack_len) {
		regprog_run(dp->ack_prog, dp->ack_len, &drvproxy_regprog_io,
			    dp, &res);
		if (ack_decides && res.verdict == REGPROG_NOT_MINE) {
			atomic64_inc(&dp->not_mine);
			return false;
		}
	}
	atomic64_inc(&dp->interrupts);
	if (dp->storm_count < DRVPROXY_STORM_THRESHOLD)
		dp->storm_count++;
	if (dp->storm_count >= DRVPROXY_STORM_THRESHOLD) {
		storm_mask(dp, vec);
		atomic64_inc(&dp->storms);
		flags |= DRVPROXY_EVENT_STORM;
	}
	ring_push(dp, vec->index, flags, &res);
	return true;
}

static irqreturn_t intx_shared_handler(int irq, void *arg)
{
	struct drvproxy_vec *vec = arg;
	struct drvproxy_dev *dp = vec->dp;
	bool mine = false;

	spin_lock(&dp->ring_lock);
	/* With its INTx-disable bit set our device is not the one asserting. */
	if (!dp->intx_masked)
		mine = claim(dp, vec, true);
	spin_unlock(&dp->ring_lock);
	if (!mine)
		return IRQ_NONE;
	wake_up_interruptible(&dp->wait);
	return IRQ_HANDLED;
}

static irqreturn_t intx_disable_handler(int irq, void *arg)
{
	struct drvproxy_vec *vec = arg;
	struct drvproxy_dev *dp = vec->dp;
	bool mine;

	spin_lock(&dp->ring_lock);
	/*
	 * Masked, our device cannot be the one asserting the line even while
	 * its interrupt status is still set: the interrupt is a neighbour's.
	 * Else mask it only if its status says it is asserting.
	 */
	mine = !dp->intx_masked && pci_check_and_mask_intx(dp->pdev);
	if (mine) {
		dp->intx_masked = true;
		claim(dp, vec, false);
	}
	spin_unlock(&dp->ring_lock);
	if (!mine)
		return IRQ_NONE;
	wake_up_interruptible(&dp->wait);
	return IRQ_HANDLED;
}

static irqreturn_t msi_handler(int irq, void *arg)
{
	struct drvproxy_vec *vec = arg;
	struct drvproxy_dev *dp = vec->dp;

	spin_lock(&dp->ring_lock);
	claim(dp, vec, false);
	spin_unlock(&dp->ring_lock);
	wake_up_interruptible(&dp->wait);
	return IRQ_HANDLED;
}

/*
 * Set the INTx-disable bit so that the device cannot assert its line: when
 * nobody answers for it (unowned, released, unbound, MSI mode).
 */
void drvproxy_intx_mask(struct drvproxy_dev *dp)
{
	unsigned long flags;

	if (!dp->intx_mask_ok)
		return;
	spin_lock_irqsave(&dp->ring_lock, flags);
	intx_write(dp, true);
	spin_unlock_irqrestore(&dp->ring_lock, flags);
}

/*
 * Set the bit either way, with or without mask support: clearing it undoes
 * what another driver may have left.
 */
void drvproxy_intx_set(struct drvproxy_dev *dp, bool disable)
{
	unsigned long flags;

	spin_lock_irqsave(&dp->ring_lock, flags);
	intx_write(dp, disable);
	spin_unlock_irqrestore(&dp->ring_lock, flags);
}

static struct drvproxy_vec *alloc_vecs(struct drvproxy_dev *dp, u32 n)
{
	struct drvproxy_vec *vecs;
	u32 i;

	vecs = kcalloc(n, sizeof(*vecs), GFP_KERNEL);
	if (!vecs)
		return NULL;
	for (i = 0; i < n; i++) {
		vecs[i].dp = dp;
		vecs[i].index = i;
		if (n == 1)
			snprintf(vecs[i].name, sizeof(vecs[i].name),
				 DRVPROXY_NAME "[%s]", pci_name(dp->pdev));
		else
			snprintf(vecs[i].name, sizeof(vecs[i].name),
				 DRVPROXY_NAME "[%s]-%u", pci_name(dp->pdev), i);
	}
	return vecs;
}

static void install_vecs(struct drvproxy_dev *dp, u32 mode,
			 struct drvproxy_vec *vecs, u32 nvec)
{
	dp->irq_mode = mode;
	dp->vecs = vecs;
	dp->nvec = nvec;
}

static int setup_intx(struct drvproxy_dev *dp, u32 mode)
{
	irq_handler_t handler = mode == DRVPROXY_IRQ_INTX_SHARED ?
				intx_shared_handler : intx_disable_handler;
	struct drvproxy_vec *vecs;
	int err;

	vecs = alloc_vecs(dp, 1);
	if (!vecs)
		return -ENOMEM;
	vecs[0].irq = dp->intx_irq;
	/* The mode must be in place before the handler can run. */
	install_vecs(dp, mode, vecs, 1);
	err = request_irq(dp->intx_irq, handler, IRQF_SHARED, vecs[0].name,
			  &vecs[0]);
	if (err)
		goto uninstall_vecs;
	/* Only now that somebody answers for it may the device assert. */
	drvproxy_intx_set(dp, false);
	return 0;

uninstall_vecs:
	install_vecs(dp, DRVPROXY_IRQ_NONE, NULL, 0);
	kfree(vecs);
	return err;
}

static int setup_msi(struct drvproxy_dev *dp, u32 mode, u32 nvec)
{
	unsigned int type = mode == DRVPROXY_IRQ_MSI ? PCI_IRQ_MSI :
							 PCI_IRQ_MSIX;
	struct drvproxy_vec *vecs;
	int err;
	u32 i;

	vecs = alloc_vecs(dp, nvec);
	if (!vecs)
		return -ENOMEM;
	err = pci_alloc_irq_vectors(dp->pdev, nvec, nvec, type);
	if (err < 0)
		goto free_vecs;
	/*
	 * An MSI is a memory write by the device: it is delivered only once
	 * the owner has turned bus mastering on (BUS_MASTER).
	 */
	install_vecs(dp, mode, vecs, nvec);
	for (i = 0; i < nvec; i++) {
		vecs[i].irq = pci_irq_vector(dp->pdev, i);
		err = request_irq(vecs[i].irq, msi_handler, 0, vecs[i].name,
				  &vecs[i]);
		if (err)
			goto free_irqs;
	}
	return 0;

free_irqs:
	while (i--)
		free_irq(vecs[i].irq, &vecs[i]);
	install_vecs(dp, DRVPROXY_IRQ_NONE, NULL, 0);
	pci_free_irq_vectors(dp->pdev);
	/* Turning MSI off re-enabled INTx. */
	drvproxy_intx_mask(dp);
free_vecs:
	kfree(vecs);
	return err;
}

/* Free whatever interrupt is set up; the device is left INTx-masked. */
void drvproxy_irq_teardown(struct drvproxy_dev *dp)
{
	struct drvproxy_vec *vecs = dp->vecs;
	u32 i;

	switch (dp->irq_mode) {
	case DRVPROXY_IRQ_NONE:
		return;
	case DRVPROXY_IRQ_INTX_SHARED:
	case DRVPROXY_IRQ_INTX_DISABLE:
		/* Quiet the device first: nobody will answer for it. */
		drvproxy_intx_mask(dp);
		free_irq(dp->intx_irq, &vecs[0]);
		/*
		 * A storm may have disabled the whole line: give it back to
		 * the other devices on it. If we were its last user, freeing
		 * shut the line down, which resets the disable depth.
		 */
		if (vecs[0].line_disabled && irq_has_action(dp->intx_irq))
			enable_irq(dp->intx_irq);
		break;
	default:
		for (i = 0; i < dp->nvec; i++)
			free_irq(vecs[i].irq, &vecs[i]);
		pci_free_irq_vectors(dp->pdev);
		/* Turning MSI off re-enabled INTx. */
		drvproxy_intx_mask(dp);
		break;
	}
	install_vecs(dp, DRVPROXY_IRQ_NONE, NULL, 0);
	kfree(vecs);
}

/*
 * A device without the INTx-disable bit shares its line only if its ACK
 * program can answer NOT_MINE, so that it cannot take its neighbours'
 * interrupts, and a RELEASE program can quiet it when its owner goes,
 * as nothing else could: the line itself is all we could disable.
 */
static int check_shared_without_mask(struct drvproxy_dev *dp)
{
	if (!regprog_can_disclaim(dp->ack_prog, dp->ack_len)) {
		pci_info_ratelimited(dp->pdev,
				     "INTX_SHARED refused: no INTx-disable bit, and the ACK program has no NOT_MINE_IF_ZERO\n");
		return -ENOEXEC;
	}
	if (!dp->release_len) {
		pci_info_ratelimited(dp->pdev,
				     "INTX_SHARED refused: no INTx-disable bit, and no RELEASE program to quiet the device\n");
		return -ENOEXEC;
	}
	return 0;
}

/*
 * Whether the RELEASE program must stay: a shared line of a device
 * without the INTx-disable bit relies on it. dp->lock held.
 */
bool drvproxy_release_prog_required(struct drvproxy_dev *dp)
{
	return dp->irq_mode == DRVPROXY_IRQ_INTX_SHARED && !dp->intx_mask_ok;
}

static int check_irq_request(struct drvproxy_dev *dp,
			     const struct drvproxy_irq *req)
{
	bool one = req->nvec <= 1;	/* 0 is taken as 1 */

	switch (req->mode) {
	case DRVPROXY_IRQ_NONE:
		return one ? 0 : -EINVAL;
	case DRVPROXY_IRQ_INTX_SHARED:
		if (!dp->intx_irq)
			return -EOPNOTSUPP;
		/* Without an ACK program nothing could tell whose it is. */
		if (!one || !dp->ack_len)
			return -EINVAL;
		return dp->intx_mask_ok ? 0 : check_shared_without_mask(dp);
	case DRVPROXY_IRQ_INTX_DISABLE:
		if (!dp->intx_irq || !dp->intx_mask_ok)
			return -EOPNOTSUPP;
		return one ? 0 : -EINVAL;
	case DRVPROXY_IRQ_MSI:
		if (!dp->has_msi)
			return -EOPNOTSUPP;
		return one ? 0 : -EINVAL;
	case DRVPROXY_IRQ_MSIX:
		if (!dp->msix_vectors)
			return -EOPNOTSUPP;
		return req->nvec >= 1 && req->nvec <= dp->msix_vectors ?
		       0 : -EINVAL;
	default:
		return -EINVAL;
	}
}

/* SET_IRQ; dp->lock held. A refused request leaves the old mode alone. */
int drvproxy_set_irq(struct drvproxy_dev *dp, const struct drvproxy_irq *req)
{
	unsigned long flags;
	int err;

	err = check_irq_request(dp, req);
	if (err)
		return err;
	drvproxy_irq_teardown(dp);
	spin_lock_irqsave(&dp->ring_lock, flags);
	dp->storm_count = 0;
	spin_unlock_irqrestore(&dp->ring_lock, flags);

	switch (req->mode) {
	case DRVPROXY_IRQ_INTX_SHARED:
	case DRVPROXY_IRQ_INTX_DISABLE:
		return setup_intx(dp, req->mode);
	case DRVPROXY_IRQ_MSI:
		return setup_msi(dp, req->mode, 1);
	case DRVPROXY_IRQ_MSIX:
		return setup_msi(dp, req->mode, req->nvec);
	default:
		return 0;
	}
}

/*
 * UNMASK; dp->lock held. Clears a storm mask or, in INTX_DISABLE mode, the
 * INTx-disable bit the handler set; counts as user space having consumed.
 */
int drvproxy_unmask(struct drvproxy_dev *dp)
{
	struct drvproxy_vec *vec;
	unsigned long flags;
	bool queued = false;
	u32 i;

	if (dp->irq_mode == DRVPROXY_IRQ_NONE)
		return -EINVAL;
	spin_lock_irqsave(&dp->ring_lock, flags);
	dp->storm_count = 0;
	if (dp->intx_masked && dp->irq_mode == DRVPROXY_IRQ_INTX_DISABLE) {
		/*
		 * If the device still asserts, unmasking would only take the
		 * interrupt again at once: deliver it now and stay masked.
		 */
		if (pci_check_and_unmask_intx(dp->pdev))
			dp->intx_masked = false;
		else
			queued = claim(dp, &dp->vecs[0], false);
	} else if (dp->intx_masked &&
		   dp->irq_mode == DRVPROXY_IRQ_INTX_SHARED) {
		intx_write(dp, false);
	}
	for (i = 0; i < dp->nvec; i++) {
		vec = &dp->vecs[i];
		if (vec->line_disabled) {
			vec->line_disabled = false;
			enable_irq(vec->irq);
		}
	}
	spin_unlock_irqrestore(&dp->ring_lock, flags);
	if (queued)
		wake_up_interruptible(&dp->wait);
	return 0;
}

/*
 * Swap the ACK program under the lock the top half runs it under. A shared
 * line needs one, and one that can say NOT_MINE where the device lacks the
 * INTx-disable bit: SET_IRQ NONE first to drop or weaken it.
 */
int drvproxy_set_ack_prog(struct drvproxy_dev *dp,
			  const struct drvproxy_insn *insns, u32 len)
{
	unsigned long flags;

	if (dp->irq_mode == DRVPROXY_IRQ_INTX_SHARED &&
	    (!len || (!dp->intx_mask_ok && !regprog_can_disclaim(insns, len))))
		return -EBUSY;
	spin_lock_irqsave(&dp->ring_lock, flags);
	if (len)
		memcpy(dp->ack_prog, insns, len * sizeof(*insns));
	dp->ack_len = len;
	spin_unlock_irqrestore(&dp->ring_lock, flags);
	return 0;
}

static u32 ring_generation(struct drvproxy_dev *dp)
{
	unsigned long flags;
	u32 gen;

	spin_lock_irqsave(&dp->ring_lock, flags);
	gen = dp->ring_gen;
	spin_unlock_irqrestore(&dp->ring_lock, flags);
	return gen;
}

static bool ring_ready(struct drvproxy_dev *dp, u32 gen)
{
	unsigned long flags;
	bool ready;

	spin_lock_irqsave(&dp->ring_lock, flags);
	ready = dp->dead || dp->ring_gen != gen || dp->head != dp->tail;
	spin_unlock_irqrestore(&dp->ring_lock, flags);
	return ready;
}

/*
 * Copy up to max records of ring generation gen, oldest first, without
 * taking them off the ring: only ring_commit() does, once they have
 * reached user space. ring_push() never writes between tail and head, and
 * only the holder of read_lock moves tail, so what is copied here is what
 * gets committed.
 */
static int ring_peek(struct drvproxy_dev *dp, struct drvproxy_event *out,
		     u32 max, u32 gen)
{
	unsigned long flags;
	u32 n = 0;

	spin_lock_irqsave(&dp->ring_lock, flags);
	if (dp->dead || dp->ring_gen != gen) {
		spin_unlock_irqrestore(&dp->ring_lock, flags);
		return -ENODEV;
	}
	for (; n < max && dp->tail + n != dp->head; n++)
		out[n] = dp->ring[(dp->tail + n) & RING_MASK];
	spin_unlock_irqrestore(&dp->ring_lock, flags);
	return n;
}

/*
 * Take n copied records off the ring, unless a new owner has reset it.
 * The first commit of a read() is user space consuming: it restarts storm
 * counting, unless the ring overflowed since the previous read, i.e. the
 * reader is not keeping up.
 */
static void ring_commit(struct drvproxy_dev *dp, u32 n, u32 gen, bool first)
{
	unsigned long flags;

	if (!n)
		return;
	spin_lock_irqsave(&dp->ring_lock, flags);
	if (gen == dp->ring_gen) {
		dp->tail += n;
		if (first) {
			if (!dp->drops_since_read)
				dp->storm_count = 0;
			dp->drops_since_read = false;
		}
	}
	spin_unlock_irqrestore(&dp->ring_lock, flags);
}

/*
 * Copy whole records to buf until it is full, the ring is empty or the
 * copy faults; read_lock held. A record leaves the ring only once it has
 * been copied whole, so a bad buffer loses nothing. Returns the bytes
 * copied, else 0 (ring empty) or an error.
 */
static ssize_t ring_copy_out(struct drvproxy_dev *dp, char __user *buf,
			     size_t count, u32 gen)
{
	struct drvproxy_event batch[READ_BATCH];
	const size_t rec = sizeof(batch[0]);
	size_t copied = 0, want, left;
	u32 done;
	int n;

	while (count - copied >= rec) {
		n = ring_peek(dp, batch, min_t(size_t, READ_BATCH,
					       (count - copied) / rec), gen);
		if (n <= 0)
			return copied ? copied : n;
		want = n * rec;
		left = copy_to_user(buf + copied, batch, want);
		done = (want - left) / rec;
		ring_commit(dp, done, gen, copied == 0);
		copied += done * rec;
		if (left)
			return copied ? copied : -EFAULT;
	}
	return copied;
}

/*
 * read(): whole records, as many as fit. Readers take turns under
 * read_lock, which nothing else needs: a reader stalled in a page fault
 * holds up only other readers, never open, ioctls, release or the top
 * half. A blocked reader waits for records without it, so that a
 * non-blocking reader never waits behind one. A read() reads the ring of
 * the owner it began under: a new owner's ring ends it with ENODEV.
 */
ssize_t drvproxy_ring_read(struct drvproxy_dev *dp, struct file *filp,
			   char __user *buf, size_t count)
{
	bool nonblock = filp->f_flags & O_NONBLOCK;
	u32 gen = ring_generation(dp);
	ssize_t ret;

	if (count < sizeof(struct drvproxy_event))
		return -EINVAL;
	for (;;) {
		if (nonblock) {
			/* Another reader is copying what there is. */
			if (!mutex_trylock(&dp->read_lock))
				return -EAGAIN;
		} else if (mutex_lock_interruptible(&dp->read_lock)) {
			return -ERESTARTSYS;
		}
		ret = ring_copy_out(dp, buf, count, gen);
		mutex_unlock(&dp->read_lock);
		if (ret)
			return ret;
		if (nonblock)
			return -EAGAIN;
		ret = wait_event_interruptible(dp->wait, ring_ready(dp, gen));
		if (ret)
			return ret;
	}
}

__poll_t drvproxy_ring_poll(struct drvproxy_dev *dp, struct file *filp,
			    poll_table *wait)
{
	unsigned long flags;
	__poll_t mask = 0;

	poll_wait(filp, &dp->wait, wait);
	spin_lock_irqsave(&dp->ring_lock, flags);
	if (dp->dead)
		mask = EPOLLHUP | EPOLLERR;
	else if (dp->head != dp->tail)
		mask = EPOLLIN | EPOLLRDNORM;
	spin_unlock_irqrestore(&dp->ring_lock, flags);
	return mask;
}

/*
 * Queue an ERROR record for the owner (AER, process context). Not counted
 * as an interrupt; the storm logic does not see it.
 */
void drvproxy_ring_push_error(struct drvproxy_dev *dp, u32 channel_state)
{
	struct regprog_result res = { .nsnap = 1, .snap = { channel_state } };
	unsigned long flags;

	spin_lock_irqsave(&dp->ring_lock, flags);
	ring_push(dp, 0, DRVPROXY_EVENT_ERROR, &res);
	spin_unlock_irqrestore(&dp->ring_lock, flags);
	wake_up_interruptible(&dp->wait);
}

/* ---- What register programs and mmap may not reach -------------------- */

static void protect_range(struct drvproxy_dev *dp, u32 bir, u64 start,
			  u64 len)
{
	struct regprog_range *r;
	u32 i;

	if (bir >= DRVPROXY_NUM_BARS)
		return;		/* a reserved BIR names no BAR we map */
	for (i = 0; i < REGPROG_MAX_PROTECTED; i++) {
		r = &dp->rbars[bir].protect[i];
		if (!r->len) {
			r->start = start;
			r->len = len;
			return;
		}
	}
}

/*
 * Keep the MSI-X table and PBA out of reach of register programs and of
 * mmap: whoever writes the table chooses where the device's MSI writes go.
 * Called once at probe, after the BARs are mapped.
 */
void drvproxy_protect_msix(struct drvproxy_dev *dp)
{
	struct pci_dev *pdev = dp->pdev;
	u32 table, pba, nvec, i;
	u16 flags;

	for (i = 0; i < DRVPROXY_NUM_BARS; i++)
		memset(dp->rbars[i].protect, 0, sizeof(dp->rbars[i].protect));
	if (!pdev->msix_cap)
		return;
	pci_read_config_word(pdev, pdev->msix_cap + PCI_MSIX_FLAGS, &flags);
	pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_TABLE, &table);
	pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_PBA, &pba);
	nvec = (flags & PCI_MSIX_FLAGS_QSIZE) + 1;
	protect_range(dp, table & PCI_MSIX_TABLE_BIR,
		      table & PCI_MSIX_TABLE_OFFSET, nvec * PCI_MSIX_ENTRY_SIZE);
	protect_range(dp, pba & PCI_MSIX_PBA_BIR, pba & PCI_MSIX_PBA_OFFSET,
		      DIV_ROUND_UP(nvec, 64) * 8);
}

/*
 * Whether [off, off + len) of a BAR touches a page that holds part of a
 * protected range: a mapping cannot be finer than a page. A BAR index out
 * of range is protected, so a caller's mistake refuses rather than maps.
 */
bool drvproxy_bar_range_protected(struct drvproxy_dev *dp, u32 bar, u64 off,
				  u64 len)
{
	struct regprog_bar pages = { .size = 0 };
	const struct regprog_range *r;
	u64 first;
	u32 i;

	if (bar >= DRVPROXY_NUM_BARS)
		return true;
	bar = array_index_nospec(bar, DRVPROXY_NUM_BARS);
	for (i = 0; i < REGPROG_MAX_PROTECTED; i++) {
		r = &dp->rbars[bar].protect[i];
		if (!r->len)
			continue;
		/* From config space: start < 2^32 and len <= 32 KiB, no wrap. */
		first = round_down(r->start, PAGE_SIZE);
		pages.protect[i].start = first;
		pages.protect[i].len = round_up(r->start + r->len, PAGE_SIZE) -
				       first;
	}
	return regprog_bar_protected(&pages, off, len);
}

/* regprog_io.now_us: POLL's budget is elapsed time. */
u64 drvproxy_io_now_us(void *ctx)
{
	return ktime_to_us(ktime_get());
}
