// SPDX-License-Identifier: GPL-2.0
/*
 * drvproxy: a small kernel proxy for user-space PCI drivers.
 *
 * Bind a device to it (new_id, or driver_override and bind, as with
 * uio_pci_generic and vfio-pci) and one process at a time may open
 * /dev/drvproxy/<BDF> to map the device's BARs, allocate DMA memory and
 * read its interrupts as records. The device declares two register
 * programs (regprog.c): an ACK program that the interrupt top half runs to
 * claim and quiet an interrupt, which lets devices without the INTx-disable
 * bit share a line, and a RELEASE program run when the owner goes away, so
 * that a crashed driver always leaves its device quiet.
 *
 * The contract with user space is include/uapi/drvproxy.h.
 */
#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/fdtable.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pid.h>
#include <linux/poll.h>
#include <linux/sched/mm.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/version.h>

#include "drvproxy_priv.h"

#define DRVPROXY_MAX_DEVICES	256
#define DRVPROXY_DEFAULT_DMA_BITS 32

static bool nointxmask;
module_param(nointxmask, bool, 0444);
MODULE_PARM_DESC(nointxmask,
		 "Never use the PCI 2.3 INTx-disable bit (for testing)");

bool drvproxy_allow_unsafe_dma;
module_param_named(allow_unsafe_dma, drvproxy_allow_unsafe_dma, bool, 0644);
MODULE_PARM_DESC(allow_unsafe_dma,
		 "Let CAP_SYS_RAWIO open devices whose DMA no IOMMU confines (taints the kernel)");

unsigned int drvproxy_dma_limit_mb;
module_param_named(dma_limit_mb, drvproxy_dma_limit_mb, uint, 0644);
MODULE_PARM_DESC(dma_limit_mb,
		 "DMA memory all owners together may hold, in MiB (0: an eighth of RAM)");

static dev_t drvproxy_devt;
static struct class *drvproxy_class;
static DEFINE_IDA(drvproxy_minors);

/* ---- Register access for the programs ------------------------------------ */

static u64 drvproxy_io_read(void *ctx, u8 bar, u32 offset, u8 width)
{
	struct drvproxy_dev *dp = ctx;
	void __iomem *addr = dp->bar_va[bar] + offset;

	switch (width) {
	case 1:
		return ioread8(addr);
	case 2:
		return ioread16(addr);
	case 4:
		return ioread32(addr);
	default:
		return readq(addr);	/* validated: memory BARs only */
	}
}

static void drvproxy_io_write(void *ctx, u8 bar, u32 offset, u8 width,
			      u64 value)
{
	struct drvproxy_dev *dp = ctx;
	void __iomem *addr = dp->bar_va[bar] + offset;

	switch (width) {
	case 1:
		iowrite8(value, addr);
		break;
	case 2:
		iowrite16(value, addr);
		break;
	case 4:
		iowrite32(value, addr);
		break;
	default:
		writeq(value, addr);
		break;
	}
}

/* Only RELEASE programs wait, in process context. */
static void drvproxy_io_delay(void *ctx, u32 us)
{
	if (us < 10)
		udelay(us);
	else
		usleep_range(us, us + us / 8);
}

const struct regprog_io drvproxy_regprog_io = {
	.read = drvproxy_io_read,
	.write = drvproxy_io_write,
	.delay_us = drvproxy_io_delay,
	.now_us = drvproxy_io_now_us,
};

/* ---- Ownership ----------------------------------------------------------- */

/*
 * May the caller use this handle? Only while it still owns the device
 * (ENODEV once released) and only from the thread group that opened it
 * (EPERM): a forked child or a process the file was passed to gets nothing.
 */
int drvproxy_check_caller(struct drvproxy_dev *dp, struct file *filp)
{
	if (READ_ONCE(dp->owner) != filp)
		return -ENODEV;
	if (task_tgid(current) != READ_ONCE(dp->owner_tgid))
		return -EPERM;
	return 0;
}

/*
 * Take dp->lock for an ioctl, interruptibly, and check again that the caller
 * still owns a live device: the check before the user copy ran unlocked.
 */
static int drvproxy_lock_owned(struct drvproxy_dev *dp, struct file *filp)
{
	int err = mutex_lock_interruptible(&dp->lock);

	if (err)
		return err;
	err = dp->dead ? -ENODEV : drvproxy_check_caller(dp, filp);
	if (err)
		mutex_unlock(&dp->lock);
	return err;
}

/* ---- Release ------------------------------------------------------------- */

/*
 * Reset the function if it has a reset method. dev_locked: the PCI device
 * lock is held (we are in remove); elsewhere only try it, as remove may hold
 * it and be waiting for dp->lock. A reset that could not happen now happens
 * at the next open.
 */
static void drvproxy_reset_function(struct drvproxy_dev *dp, bool dev_locked)
{
	int err;

	/* A function that is gone or broken cannot be reset; don't wait on it. */
	if (!dp->can_reset || pci_channel_offline(dp->pdev))
		return;
	err = dev_locked ? pci_reset_function_locked(dp->pdev) :
			   pci_try_reset_function(dp->pdev);
	if (err)
		pci_warn(dp->pdev, "function reset failed: %d\n", err);
	else
		atomic64_inc(&dp->resets);
	dp->needs_reset = err != 0;
}

/*
 * Leave the device quiet and harmless; dp->lock held. The order matters:
 * the owner's mappings go first, and faults wait on zap_sem until the end,
 * so nothing touches the device behind the sequence's back. The RELEASE
 * program stops the device while its interrupt handler and its memory still
 * exist; then the interrupt goes; then bus mastering, so the device can no
 * longer write memory; only then is DMA memory freed, so memory is never
 * freed while the device can still write it. The function reset comes last.
 */
static void drvproxy_release_sequence(struct drvproxy_dev *dp, bool dev_locked)
{
	struct regprog_result res;

	drvproxy_zap_lock(dp);
	if (dp->mapping)
		unmap_mapping_range(dp->mapping, 0, 0, 1);
	if (dp->release_len) {
		regprog_run(dp->release_prog, dp->release_len,
			    &drvproxy_regprog_io, dp, &res);
		if (res.poll_timeouts)
			pci_warn(dp->pdev, "release program: %u poll(s) timed out\n",
				 res.poll_timeouts);
	}
	drvproxy_irq_teardown(dp);
	drvproxy_set_bus_master(dp, false);
	drvproxy_dma_release_all(dp);
	if (dp->release_flags & DRVPROXY_RELEASE_NO_RESET)
		dp->needs_reset = true;
	else
		drvproxy_reset_function(dp, dev_locked);
	drvproxy_zap_unlock(dp);
	atomic64_inc(&dp->releases);
	/* The release is an event: a supervisor poll()s the attribute. */
	sysfs_notify(&dp->pdev->dev.kobj, DRVPROXY_NAME, "releases");
}

/*
 * The owner let go (exit, its last close, or the file's last reference):
 * release the device unless remove did already, and forget everything the
 * owner set up, so the next owner starts clean. dp->lock held.
 */
static void drvproxy_disown(struct drvproxy_dev *dp)
{
	if (!dp->dead) {
		drvproxy_release_sequence(dp, false);
		drvproxy_set_ack_prog(dp, NULL, 0);
		if (!dma_set_mask_and_coherent(&dp->pdev->dev,
				DMA_BIT_MASK(DRVPROXY_DEFAULT_DMA_BITS)))
			dp->dma_mask_bits = DRVPROXY_DEFAULT_DMA_BITS;
	}
	dp->release_len = 0;
	dp->release_flags = 0;
	WRITE_ONCE(dp->owner, NULL);
	put_pid(dp->owner_tgid);
	WRITE_ONCE(dp->owner_tgid, NULL);
	free_uid(dp->owner_user);
	dp->owner_user = NULL;
	mmdrop(dp->owner_mm);
	dp->owner_mm = NULL;
	dp->mapping = NULL;
	atomic_set(&dp->owner_pid, 0);
	/*
	 * The owner's records go with it; a new ring generation tells its
	 * readers and pollers still waiting on the released handle that it
	 * is dead.
	 */
	drvproxy_ring_reset(dp);
}

/* ---- ioctls -------------------------------------------------------------- */

/*
 * Every ioctl copies its argument in before taking dp->lock and out after
 * dropping it: a caller stalled in a user copy (a userfaultfd page, say)
 * holds no lock that open, release or remove need.
 */

static u32 drvproxy_bar_flags(struct drvproxy_dev *dp, int bar)
{
	unsigned long res = pci_resource_flags(dp->pdev, bar);
	u32 flags = DRVPROXY_BAR_PRESENT;

	if (res & IORESOURCE_MEM)
		flags |= DRVPROXY_BAR_MEM;
	if (res & IORESOURCE_MEM_64)
		flags |= DRVPROXY_BAR_64BIT;
	if (res & IORESOURCE_PREFETCH)
		flags |= DRVPROXY_BAR_PREFETCH;
	return flags;
}

static void drvproxy_fill_info(struct drvproxy_dev *dp,
			       struct drvproxy_info *info)
{
	struct pci_dev *pdev = dp->pdev;
	int i;

	memset(info, 0, sizeof(*info));
	info->abi_version = DRVPROXY_ABI_VERSION;
	if (dp->intx_mask_ok)
		info->flags |= DRVPROXY_INFO_INTX_DISABLE;
	info->flags |= dp->dma_unsafe ? DRVPROXY_INFO_DMA_UNSAFE :
					DRVPROXY_INFO_DMA_CONFINED;
	if (dp->can_reset)
		info->flags |= DRVPROXY_INFO_RESET;
	if (pdev->is_busmaster)
		info->flags |= DRVPROXY_INFO_BUS_MASTER;
	info->vendor = pdev->vendor;
	info->device = pdev->device;
	info->subvendor = pdev->subsystem_vendor;
	info->subdevice = pdev->subsystem_device;
	info->class_code = pdev->class;
	info->revision = pdev->revision;
	if (dp->intx_irq)
		info->irq_kinds |= DRVPROXY_IRQ_KIND_INTX;
	if (dp->has_msi)
		info->irq_kinds |= DRVPROXY_IRQ_KIND_MSI;
	if (dp->msix_vectors)
		info->irq_kinds |= DRVPROXY_IRQ_KIND_MSIX;
	info->msix_vectors = dp->msix_vectors;
	info->ring_entries = DRVPROXY_RING_CAPACITY;
	info->dma_mask_bits = dp->dma_mask_bits;
	for (i = 0; i < DRVPROXY_NUM_BARS; i++) {
		if (!dp->rbars[i].size)
			continue;
		info->bars[i].size = dp->rbars[i].size;
		info->bars[i].flags = drvproxy_bar_flags(dp, i);
	}
}

static int drvproxy_ioc_info(struct drvproxy_dev *dp, struct file *filp,
			     void __user *uarg)
{
	struct drvproxy_info info;
	int err;

	err = drvproxy_lock_owned(dp, filp);
	if (err)
		return err;
	drvproxy_fill_info(dp, &info);
	mutex_unlock(&dp->lock);
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* What regprog_validate() does not see: kind, flags, length. */
static int drvproxy_prog_check_header(struct drvproxy_prog *p)
{
	u32 allowed = p->kind == DRVPROXY_PROG_RELEASE ?
		      DRVPROXY_RELEASE_FUNCTION_RESET |
		      DRVPROXY_RELEASE_NO_RESET : 0;

	if (p->kind != DRVPROXY_PROG_ACK && p->kind != DRVPROXY_PROG_RELEASE) {
		p->error = DRVPROXY_EPROG_BAD_KIND;
	} else if (p->flags & ~allowed) {
		p->error = DRVPROXY_EPROG_RESERVED;
	} else if (p->len > DRVPROXY_PROG_MAX_INSNS) {
		p->error = DRVPROXY_EPROG_TOO_LONG;
		p->error_index = DRVPROXY_PROG_MAX_INSNS;
	} else {
		return 0;
	}
	return -EINVAL;
}

/* dp->lock held. */
static int drvproxy_install_prog(struct drvproxy_dev *dp,
				 const struct drvproxy_prog *p,
				 const struct drvproxy_insn *insns)
{
	if (p->kind == DRVPROXY_PROG_ACK)
		return drvproxy_set_ack_prog(dp, insns, p->len);
	if (!p->len && drvproxy_release_prog_required(dp))
		return -EBUSY;
	/* Only process context runs it, under dp->lock like this. */
	if (p->len)
		memcpy(dp->release_prog, insns, p->len * sizeof(*insns));
	dp->release_len = p->len;
	dp->release_flags = p->flags;
	return 0;
}

/*
 * Validation needs no lock (the BAR table is fixed at probe). The verdict is
 * written back before anything is installed, so a caller whose struct
 * cannot be written gets EFAULT and no program.
 */
static int drvproxy_ioc_set_prog(struct drvproxy_dev *dp, struct file *filp,
				 void __user *uarg)
{
	struct drvproxy_insn *insns = NULL;
	struct drvproxy_prog p;
	int err;

	if (copy_from_user(&p, uarg, sizeof(p)))
		return -EFAULT;
	if (p.abi_version != DRVPROXY_ABI_VERSION)
		return -EPROTO;
	p.error = DRVPROXY_EPROG_OK;
	p.error_index = 0;
	err = drvproxy_prog_check_header(&p);
	if (!err && p.len) {
		insns = memdup_user(u64_to_user_ptr(p.insns),
				    p.len * sizeof(*insns));
		if (IS_ERR(insns))
			return PTR_ERR(insns);
		if (regprog_validate(p.kind, insns, p.len, dp->rbars,
				     &p.error, &p.error_index))
			err = -EINVAL;
	}
	if (copy_to_user(uarg, &p, sizeof(p)))
		err = -EFAULT;
	if (!err)
		err = drvproxy_lock_owned(dp, filp);
	if (!err) {
		err = drvproxy_install_prog(dp, &p, insns);
		mutex_unlock(&dp->lock);
	}
	kfree(insns);
	return err;
}

static int drvproxy_ioc_set_irq(struct drvproxy_dev *dp, struct file *filp,
				void __user *uarg)
{
	struct drvproxy_irq req;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.abi_version != DRVPROXY_ABI_VERSION)
		return -EPROTO;
	if (req.reserved)
		return -EINVAL;
	err = drvproxy_lock_owned(dp, filp);
	if (err)
		return err;
	err = drvproxy_set_irq(dp, &req);
	mutex_unlock(&dp->lock);
	return err;
}

static int drvproxy_ioc_dma_mask(struct drvproxy_dev *dp, struct file *filp,
				 void __user *uarg)
{
	struct drvproxy_dma_mask req;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.abi_version != DRVPROXY_ABI_VERSION)
		return -EPROTO;
	if (req.bits < 12 || req.bits > 64)
		return -EINVAL;
	err = drvproxy_lock_owned(dp, filp);
	if (err)
		return err;
	if (dma_set_mask_and_coherent(&dp->pdev->dev, DMA_BIT_MASK(req.bits)))
		err = -EINVAL;
	else
		dp->dma_mask_bits = req.bits;
	mutex_unlock(&dp->lock);
	return err;
}

static int drvproxy_ioc_dma_alloc(struct drvproxy_dev *dp, struct file *filp,
				  void __user *uarg)
{
	struct drvproxy_dma_alloc req;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.abi_version != DRVPROXY_ABI_VERSION)
		return -EPROTO;
	if (req.reserved || req.reserved1)
		return -EINVAL;
	err = drvproxy_lock_owned(dp, filp);
	if (err)
		return err;
	err = drvproxy_dma_alloc(dp, &req);
	mutex_unlock(&dp->lock);
	if (err)
		return err;
	if (copy_to_user(uarg, &req, sizeof(req))) {
		/* Nobody learnt the id: nobody could ever free it. */
		if (!drvproxy_lock_owned(dp, filp)) {
			drvproxy_dma_free(dp, req.id);
			mutex_unlock(&dp->lock);
		}
		return -EFAULT;
	}
	return 0;
}

static int drvproxy_ioc_dma_free(struct drvproxy_dev *dp, struct file *filp,
				 void __user *uarg)
{
	struct drvproxy_dma_free req;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.abi_version != DRVPROXY_ABI_VERSION)
		return -EPROTO;
	err = drvproxy_lock_owned(dp, filp);
	if (err)
		return err;
	err = drvproxy_dma_free(dp, req.id);
	mutex_unlock(&dp->lock);
	return err;
}

static int drvproxy_ioc_bus_master(struct drvproxy_dev *dp, struct file *filp,
				   void __user *uarg)
{
	struct drvproxy_bus_master req;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.abi_version != DRVPROXY_ABI_VERSION)
		return -EPROTO;
	if (req.enable > 1)
		return -EINVAL;
	err = drvproxy_lock_owned(dp, filp);
	if (err)
		return err;
	drvproxy_set_bus_master(dp, req.enable);
	mutex_unlock(&dp->lock);
	return 0;
}

/* The ioctls without an argument. */
static int drvproxy_ioc_simple(struct drvproxy_dev *dp, struct file *filp,
			       unsigned int cmd)
{
	int err = drvproxy_lock_owned(dp, filp);

	if (err)
		return err;
	if (cmd == DRVPROXY_IOC_UNMASK)
		err = drvproxy_unmask(dp);
	else
		drvproxy_release_sequence(dp, false);
	mutex_unlock(&dp->lock);
	return err;
}

/* ---- File operations ----------------------------------------------------- */

static long drvproxy_ioctl(struct file *filp, unsigned int cmd,
			   unsigned long arg)
{
	struct drvproxy_dev *dp = filp->private_data;
	void __user *uarg = (void __user *)arg;
	int err;

	err = drvproxy_check_caller(dp, filp);
	if (err)
		return err;
	switch (cmd) {
	case DRVPROXY_IOC_INFO:
		return drvproxy_ioc_info(dp, filp, uarg);
	case DRVPROXY_IOC_SET_PROG:
		return drvproxy_ioc_set_prog(dp, filp, uarg);
	case DRVPROXY_IOC_SET_IRQ:
		return drvproxy_ioc_set_irq(dp, filp, uarg);
	case DRVPROXY_IOC_DMA_MASK:
		return drvproxy_ioc_dma_mask(dp, filp, uarg);
	case DRVPROXY_IOC_DMA_ALLOC:
		return drvproxy_ioc_dma_alloc(dp, filp, uarg);
	case DRVPROXY_IOC_DMA_FREE:
		return drvproxy_ioc_dma_free(dp, filp, uarg);
	case DRVPROXY_IOC_BUS_MASTER:
		return drvproxy_ioc_bus_master(dp, filp, uarg);
	case DRVPROXY_IOC_UNMASK:
	case DRVPROXY_IOC_RESET:
		return drvproxy_ioc_simple(dp, filp, cmd);
	default:
		return -ENOTTY;
	}
}

/*
 * May this opener have the device? Without IOMMU confinement only in the
 * explicit unsafe mode, by a process with CAP_SYS_RAWIO, and the kernel is
 * tainted, as VFIO's no-IOMMU mode does.
 */
static int drvproxy_dma_permitted(struct drvproxy_dev *dp, bool *unsafe)
{
	const char *why;

	*unsafe = !drvproxy_dma_confined(dp->pdev, &why);
	if (!*unsafe)
		return 0;
	if (!READ_ONCE(drvproxy_allow_unsafe_dma) || !capable(CAP_SYS_RAWIO)) {
		pci_info_ratelimited(dp->pdev,
			"open refused: DMA not confined (%s); allow_unsafe_dma=1 and CAP_SYS_RAWIO open it unconfined\n",
			why);
		return -EPERM;
	}
	return 0;
}

static int drvproxy_open(struct inode *inode, struct file *filp)
{
	struct drvproxy_dev *dp = container_of(inode->i_cdev,
					       struct drvproxy_dev, cdev);
	bool unsafe;
	int err;

	err = drvproxy_dma_permitted(dp, &unsafe);
	if (err)
		return err;
	err = mutex_lock_interruptible(&dp->lock);
	if (err)
		return err;
	if (dp->dead) {
		err = -ENODEV;
		goto unlock;
	}
	if (dp->owner) {
		err = -EBUSY;
		goto unlock;
	}
	if (!current->mm) {
		err = -EPERM;
		goto unlock;
	}
	/* Whatever the last user left running stops here. */
	if (dp->needs_reset && dp->can_reset) {
		err = pci_try_reset_function(dp->pdev);
		if (err) {
			pci_info_ratelimited(dp->pdev, "open: reset failed: %d\n", err);
			goto unlock;
		}
		atomic64_inc(&dp->resets);
		dp->needs_reset = false;
	}
	filp->private_data = dp;
	dp->owner_tgid = get_pid(task_tgid(current));
	dp->owner_user = get_uid(current_user());
	dp->owner_mm = current->mm;
	mmgrab(dp->owner_mm);
	dp->dma_unsafe = unsafe;
	dp->mapping = filp->f_mapping;
	atomic_set(&dp->owner_pid, task_tgid_nr(current));
	drvproxy_ring_reset(dp);
	WRITE_ONCE(dp->owner, filp);
	if (unsafe) {
		add_taint(TAINT_USER, LOCKDEP_STILL_OK);
		pci_notice_ratelimited(dp->pdev, "opened with unconfined DMA: its owner can write any memory\n");
	}
unlock:
	mutex_unlock(&dp->lock);
	if (err)
		return err;
	/* Records, not bytes at positions. */
	return stream_open(inode, filp);
}

static int drvproxy_fd_is(const void *file, struct file *f, unsigned int fd)
{
	return f == file;
}

/*
 * Every close() of a descriptor, and each at exit. The device is the owner's
 * only while the owner lives: when it exits, or closes its last descriptor
 * of the handle, the device is released at once, even if a forked child or
 * a process the file was passed to still holds the file.
 */
static int drvproxy_flush(struct file *filp, fl_owner_t id)
{
	struct drvproxy_dev *dp = filp->private_data;

	if (drvproxy_check_caller(dp, filp))
		return 0;
	if (!(current->flags & PF_EXITING) && current->files &&
	    iterate_fd(current->files, 0, drvproxy_fd_is, filp))
		return 0;
	mutex_lock(&dp->lock);
	if (dp->owner == filp)
		drvproxy_disown(dp);
	mutex_unlock(&dp->lock);
	return 0;
}

/* The last reference to the file; the owner usually let go in flush. */
static int drvproxy_release(struct inode *inode, struct file *filp)
{
	struct drvproxy_dev *dp = filp->private_data;

	mutex_lock(&dp->lock);
	if (dp->owner == filp)
		drvproxy_disown(dp);
	mutex_unlock(&dp->lock);
	return 0;
}

static ssize_t drvproxy_read(struct file *filp, char __user *buf,
			     size_t count, loff_t *ppos)
{
	struct drvproxy_dev *dp = filp->private_data;
	int err = drvproxy_check_caller(dp, filp);

	return err ? err : drvproxy_ring_read(dp, filp, buf, count);
}

static __poll_t drvproxy_poll(struct file *filp, poll_table *wait)
{
	struct drvproxy_dev *dp = filp->private_data;

	if (drvproxy_check_caller(dp, filp))
		return EPOLLERR | EPOLLHUP;
	return drvproxy_ring_poll(dp, filp, wait);
}

static const struct file_operations drvproxy_fops = {
	.owner		= THIS_MODULE,
	.open		= drvproxy_open,
	.flush		= drvproxy_flush,
	.release	= drvproxy_release,
	.read		= drvproxy_read,
	.poll		= drvproxy_poll,
	.unlocked_ioctl	= drvproxy_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.mmap		= drvproxy_mmap,
};

/* ---- sysfs: /sys/bus/pci/devices/<BDF>/drvproxy/ ------------------------- */

#define DRVPROXY_COUNTER_ATTR(name)					\
static ssize_t name##_show(struct device *dev,				\
			   struct device_attribute *attr, char *buf)	\
{									\
	struct drvproxy_dev *dp = pci_get_drvdata(to_pci_dev(dev));	\
									\
	return sysfs_emit(buf, "%llu\n",				\
			  (unsigned long long)atomic64_read(&dp->name)); \
}									\
static DEVICE_ATTR_RO(name)

DRVPROXY_COUNTER_ATTR(interrupts);
DRVPROXY_COUNTER_ATTR(not_mine);
DRVPROXY_COUNTER_ATTR(dropped);
DRVPROXY_COUNTER_ATTR(releases);
DRVPROXY_COUNTER_ATTR(storms);
DRVPROXY_COUNTER_ATTR(resets);

static ssize_t owner_pid_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct drvproxy_dev *dp = pci_get_drvdata(to_pci_dev(dev));

	return sysfs_emit(buf, "%d\n", atomic_read(&dp->owner_pid));
}
static DEVICE_ATTR_RO(owner_pid);

/* What the next open would get: confined, unsafe, or refused. */
static ssize_t dma_mode_show(struct device *dev,
			     struct device_attribute *attr, char *buf)
{
	const char *why;

	if (drvproxy_dma_confined(to_pci_dev(dev), &why))
		return sysfs_emit(buf, "confined\n");
	return sysfs_emit(buf, "%s\n", READ_ONCE(drvproxy_allow_unsafe_dma) ?
			  "unsafe" : "refused");
}
static DEVICE_ATTR_RO(dma_mode);

static ssize_t reset_show(struct device *dev, struct device_attribute *attr,
			  char *buf)
{
	struct drvproxy_dev *dp = pci_get_drvdata(to_pci_dev(dev));

	return sysfs_emit(buf, "%d\n", dp->can_reset);
}
static DEVICE_ATTR_RO(reset);

static struct attribute *drvproxy_attrs[] = {
	&dev_attr_interrupts.attr,
	&dev_attr_not_mine.attr,
	&dev_attr_dropped.attr,
	&dev_attr_releases.attr,
	&dev_attr_storms.attr,
	&dev_attr_resets.attr,
	&dev_attr_owner_pid.attr,
	&dev_attr_dma_mode.attr,
	&dev_attr_reset.attr,
	NULL,
};

static const struct attribute_group drvproxy_attr_group = {
	.name = DRVPROXY_NAME,
	.attrs = drvproxy_attrs,
};

static const struct attribute_group *drvproxy_attr_groups[] = {
	&drvproxy_attr_group,
	NULL,
};

/* ---- PCI driver ---------------------------------------------------------- */

static void drvproxy_dev_release(struct device *dev)
{
	struct drvproxy_dev *dp = container_of(dev, struct drvproxy_dev, dev);

	if (dp->minor >= 0)
		ida_free(&drvproxy_minors, dp->minor);
	drvproxy_ring_free(dp);
	pci_dev_put(dp->pdev);
	kfree(dp);
}

/* From here on put_device() frees dp and whatever it holds. */
static void drvproxy_init_dev(struct drvproxy_dev *dp, struct pci_dev *pdev)
{
	device_initialize(&dp->dev);
	dp->dev.class = drvproxy_class;
	/*
	 * No parent: under the PCI device the class device would sit in a
	 * directory named after the class, "drvproxy", which is where the
	 * counters live. It shows as /sys/devices/virtual/drvproxy/<BDF>.
	 */
	dp->dev.release = drvproxy_dev_release;
	dp->pdev = pci_dev_get(pdev);
	dp->minor = -1;
	mutex_init(&dp->lock);
	init_rwsem(&dp->zap_sem);
	spin_lock_init(&dp->dma_lock);
	spin_lock_init(&dp->ring_lock);
	init_waitqueue_head(&dp->wait);
	cdev_init(&dp->cdev, &drvproxy_fops);
	dp->cdev.owner = THIS_MODULE;
}

/* Request and map one BAR, managed; NULL if it cannot be had. */
static void __iomem *drvproxy_iomap_bar(struct pci_dev *pdev, int bar)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 11, 0)
	/* pcim_iomap_regions() and its table are deprecated from 6.11 on. */
	void __iomem *va = pcim_iomap_region(pdev, bar, DRVPROXY_NAME);

	return IS_ERR(va) ? NULL : va;
#else
	if (pcim_iomap_regions(pdev, BIT(bar), DRVPROXY_NAME))
		return NULL;
	return pcim_iomap_table(pdev)[bar];
#endif
}

static void drvproxy_map_bars(struct drvproxy_dev *dp)
{
	struct pci_dev *pdev = dp->pdev;
	void __iomem *va;
	int i;

	for (i = 0; i < DRVPROXY_NUM_BARS; i++) {
		if (!pci_resource_len(pdev, i))
			continue;
		/* One by one: a BAR we cannot claim is left out, not fatal. */
		va = drvproxy_iomap_bar(pdev, i);
		if (!va) {
			pci_warn(pdev, "BAR %d unavailable, left out\n", i);
			continue;
		}
		dp->bar_va[i] = va;
		dp->rbars[i].size = pci_resource_len(pdev, i);
		dp->rbars[i].is_io = pci_resource_flags(pdev, i) & IORESOURCE_IO;
	}
}

static void drvproxy_probe_irqs(struct drvproxy_dev *dp)
{
	struct pci_dev *pdev = dp->pdev;
	int n;

	if (pdev->pin && pdev->irq && pdev->irq != IRQ_NOTCONNECTED)
		dp->intx_irq = pdev->irq;
	dp->intx_mask_ok = pdev->pin && !nointxmask &&
			   pci_intx_mask_supported(pdev);
	dp->has_msi = pdev->msi_cap != 0;
	n = pci_msix_vec_count(pdev);
	dp->msix_vectors = n > 0 ? n : 0;
}

/* The PCI core found the function's reset methods when it enumerated it. */
static void drvproxy_probe_reset(struct drvproxy_dev *dp)
{
	dp->can_reset = dp->pdev->reset_methods[0] != 0;
	/* Whoever had the device before us may have left it running. */
	dp->needs_reset = true;
	if (!dp->can_reset)
		pci_info(dp->pdev, "no reset method: the release program is the only safety net\n");
}

static int drvproxy_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct drvproxy_dev *dp;
	int err;

	/* Bridges and the like forward others' traffic: not ours to give away. */
	if (pdev->hdr_type != PCI_HEADER_TYPE_NORMAL) {
		pci_info(pdev, "refused: not an endpoint (header type %u)\n",
			 pdev->hdr_type);
		return -ENODEV;
	}
	err = pcim_enable_device(pdev);
	if (err)
		return err;
	dp = kzalloc(sizeof(*dp), GFP_KERNEL);
	if (!dp)
		return -ENOMEM;
	drvproxy_init_dev(dp, pdev);

	drvproxy_map_bars(dp);
	drvproxy_protect_msix(dp);
	drvproxy_probe_irqs(dp);
	drvproxy_probe_reset(dp);
	err = dma_set_mask_and_coherent(&pdev->dev,
					DMA_BIT_MASK(DRVPROXY_DEFAULT_DMA_BITS));
	if (err)
		goto put_dev;
	dp->dma_mask_bits = DRVPROXY_DEFAULT_DMA_BITS;
	err = drvproxy_ring_alloc(dp);
	if (err)
		goto put_dev;
	err = ida_alloc_max(&drvproxy_minors, DRVPROXY_MAX_DEVICES - 1,
			    GFP_KERNEL);
	if (err < 0)
		goto put_dev;
	dp->minor = err;
	dp->dev.devt = MKDEV(MAJOR(drvproxy_devt), dp->minor);
	err = dev_set_name(&dp->dev, "%s", pci_name(pdev));
	if (err)
		goto put_dev;
	/* Unowned, the device must not be able to storm a shared line. */
	drvproxy_intx_mask(dp);
	err = cdev_device_add(&dp->cdev, &dp->dev);
	if (err)
		goto put_dev;
	pci_set_drvdata(pdev, dp);
	return 0;

put_dev:
	put_device(&dp->dev);
	return err;
}

static void drvproxy_mark_dead(struct drvproxy_dev *dp)
{
	unsigned long flags;

	/* Waits for page faults in flight; later ones see dead. */
	down_write(&dp->zap_sem);
	spin_lock_irqsave(&dp->ring_lock, flags);
	dp->dead = true;
	spin_unlock_irqrestore(&dp->ring_lock, flags);
	up_write(&dp->zap_sem);
}

static void drvproxy_remove(struct pci_dev *pdev)
{
	struct drvproxy_dev *dp = pci_get_drvdata(pdev);

	cdev_device_del(&dp->cdev, &dp->dev);
	mutex_lock(&dp->lock);
	drvproxy_mark_dead(dp);
	/*
	 * The owner's mappings are zapped and its DMA memory freed now, while
	 * the device is still there: from here on its BAR and buffer pointers
	 * fault with SIGBUS, and no memory is freed through a dead DMA path.
	 */
	if (dp->owner)
		drvproxy_release_sequence(dp, true);
	/* Nobody answers for the device now: it must not assert its line. */
	drvproxy_intx_mask(dp);
	mutex_unlock(&dp->lock);
	wake_up_interruptible_all(&dp->wait);
	/* An open file keeps dp (not the device) until its last close. */
	put_device(&dp->dev);
}

/*
 * AER: the PCI core found an error on the device. Its state is unknown, so
 * the owner hears of it through an ERROR event and is expected to let go:
 * the release that follows quiets and resets the function for the next
 * owner. drvproxy itself touches nothing here.
 */
static pci_ers_result_t drvproxy_error_detected(struct pci_dev *pdev,
						pci_channel_state_t state)
{
	struct drvproxy_dev *dp = pci_get_drvdata(pdev);

	pci_warn(pdev, "PCI error (channel state %u): telling the owner\n",
		 (unsigned int)state);
	drvproxy_ring_push_error(dp, (u32)state);
	return state == pci_channel_io_perm_failure ? PCI_ERS_RESULT_DISCONNECT :
						      PCI_ERS_RESULT_CAN_RECOVER;
}

static const struct pci_error_handlers drvproxy_err_handlers = {
	.error_detected	= drvproxy_error_detected,
};

static struct pci_driver drvproxy_driver = {
	.name		= DRVPROXY_NAME,
	.id_table	= NULL,		/* new_id or driver_override only */
	.probe		= drvproxy_probe,
	.remove		= drvproxy_remove,
	.err_handler	= &drvproxy_err_handlers,
	.dev_groups	= drvproxy_attr_groups,
};

/* ---- Module -------------------------------------------------------------- */

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
static char *drvproxy_devnode(const struct device *dev, umode_t *mode)
#else
static char *drvproxy_devnode(struct device *dev, umode_t *mode)
#endif
{
	return kasprintf(GFP_KERNEL, DRVPROXY_NAME "/%s", dev_name(dev));
}

static int __init drvproxy_init(void)
{
	int err;

	err = alloc_chrdev_region(&drvproxy_devt, 0, DRVPROXY_MAX_DEVICES,
				  DRVPROXY_NAME);
	if (err)
		return err;
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	drvproxy_class = class_create(DRVPROXY_NAME);
#else
	drvproxy_class = class_create(THIS_MODULE, DRVPROXY_NAME);
#endif
	if (IS_ERR(drvproxy_class)) {
		err = PTR_ERR(drvproxy_class);
		goto unregister_region;
	}
	drvproxy_class->devnode = drvproxy_devnode;
	err = pci_register_driver(&drvproxy_driver);
	if (err)
		goto destroy_class;
	return 0;

destroy_class:
	class_destroy(drvproxy_class);
unregister_region:
	unregister_chrdev_region(drvproxy_devt, DRVPROXY_MAX_DEVICES);
	return err;
}

static void __exit drvproxy_exit(void)
{
	pci_unregister_driver(&drvproxy_driver);
	class_destroy(drvproxy_class);
	unregister_chrdev_region(drvproxy_devt, DRVPROXY_MAX_DEVICES);
	ida_destroy(&drvproxy_minors);
}

module_init(drvproxy_init);
module_exit(drvproxy_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Kernel proxy for user-space PCI drivers (drvhost)");
MODULE_VERSION("0.1");
