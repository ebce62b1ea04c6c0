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
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/poll.h>
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

/* ---- Release ------------------------------------------------------------- */

/*
 * Leave the device quiet and harmless; dp->lock held. The order matters:
 * the RELEASE program stops the device while its interrupt handler and its
 * memory still exist; then the interrupt goes; then bus mastering, so the
 * device can no longer write memory; only then is DMA memory given back,
 * so memory is never freed while the device can still write it. The
 * function reset comes last. dev_locked: the PCI device lock is held (we
 * are in remove); elsewhere only try it, as remove may hold it and be
 * waiting for dp->lock.
 */
static void drvproxy_release_sequence(struct drvproxy_dev *dp, bool dev_locked)
{
	struct regprog_result res;
	int err;

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
	if (dp->release_flags & DRVPROXY_RELEASE_FUNCTION_RESET) {
		err = dev_locked ? pci_reset_function_locked(dp->pdev) :
				   pci_try_reset_function(dp->pdev);
		if (err)
			pci_warn(dp->pdev, "function reset failed: %d\n", err);
	}
	atomic64_inc(&dp->releases);
}

/* What one owner set up must not leak to the next. */
static void drvproxy_forget_owner(struct drvproxy_dev *dp)
{
	drvproxy_set_ack_prog(dp, NULL, 0);
	dp->release_len = 0;
	dp->release_flags = 0;
	if (!dma_set_mask_and_coherent(&dp->pdev->dev,
				       DMA_BIT_MASK(DRVPROXY_DEFAULT_DMA_BITS)))
		dp->dma_mask_bits = DRVPROXY_DEFAULT_DMA_BITS;
}

/* ---- ioctls -------------------------------------------------------------- */

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

static int drvproxy_ioc_info(struct drvproxy_dev *dp, void __user *uarg)
{
	struct pci_dev *pdev = dp->pdev;
	struct drvproxy_info info;
	int i;

	memset(&info, 0, sizeof(info));
	info.abi_version = DRVPROXY_ABI_VERSION;
	if (dp->intx_mask_ok)
		info.flags |= DRVPROXY_INFO_INTX_DISABLE;
	info.vendor = pdev->vendor;
	info.device = pdev->device;
	info.subvendor = pdev->subsystem_vendor;
	info.subdevice = pdev->subsystem_device;
	info.class_code = pdev->class;
	info.revision = pdev->revision;
	if (dp->intx_irq)
		info.irq_kinds |= DRVPROXY_IRQ_KIND_INTX;
	if (dp->has_msi)
		info.irq_kinds |= DRVPROXY_IRQ_KIND_MSI;
	if (dp->msix_vectors)
		info.irq_kinds |= DRVPROXY_IRQ_KIND_MSIX;
	info.msix_vectors = dp->msix_vectors;
	info.ring_entries = DRVPROXY_RING_CAPACITY;
	info.dma_mask_bits = dp->dma_mask_bits;
	for (i = 0; i < DRVPROXY_NUM_BARS; i++) {
		if (!dp->rbars[i].size)
			continue;
		info.bars[i].size = dp->rbars[i].size;
		info.bars[i].flags = drvproxy_bar_flags(dp, i);
	}
	return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
}

/* What regprog_validate() does not see: kind, flags, length. */
static int drvproxy_prog_check_header(struct drvproxy_prog *p)
{
	u32 allowed = p->kind == DRVPROXY_PROG_RELEASE ?
		      DRVPROXY_RELEASE_FUNCTION_RESET : 0;

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

static int drvproxy_ioc_set_prog(struct drvproxy_dev *dp, void __user *uarg)
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
	if (!err)
		err = drvproxy_install_prog(dp, &p, insns);
	kfree(insns);
	/* The reason for a refusal travels back in the struct. */
	if (copy_to_user(uarg, &p, sizeof(p)))
		return -EFAULT;
	return err;
}

static int drvproxy_ioc_set_irq(struct drvproxy_dev *dp, void __user *uarg)
{
	struct drvproxy_irq req;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.abi_version != DRVPROXY_ABI_VERSION)
		return -EPROTO;
	if (req.reserved)
		return -EINVAL;
	return drvproxy_set_irq(dp, &req);
}

static int drvproxy_ioc_dma_mask(struct drvproxy_dev *dp, void __user *uarg)
{
	struct drvproxy_dma_mask req;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.abi_version != DRVPROXY_ABI_VERSION)
		return -EPROTO;
	if (req.bits < 12 || req.bits > 64)
		return -EINVAL;
	if (dma_set_mask_and_coherent(&dp->pdev->dev, DMA_BIT_MASK(req.bits)))
		return -EINVAL;
	dp->dma_mask_bits = req.bits;
	return 0;
}

static int drvproxy_ioc_dma_alloc(struct drvproxy_dev *dp, void __user *uarg)
{
	struct drvproxy_dma_alloc req;
	int err;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.abi_version != DRVPROXY_ABI_VERSION)
		return -EPROTO;
	if (req.reserved || req.reserved1)
		return -EINVAL;
	err = drvproxy_dma_alloc(dp, &req);
	if (err)
		return err;
	if (copy_to_user(uarg, &req, sizeof(req))) {
		/* Nobody learnt the id: nobody could ever free it. */
		drvproxy_dma_free(dp, req.id);
		return -EFAULT;
	}
	return 0;
}

static int drvproxy_ioc_dma_free(struct drvproxy_dev *dp, void __user *uarg)
{
	struct drvproxy_dma_free req;

	if (copy_from_user(&req, uarg, sizeof(req)))
		return -EFAULT;
	if (req.abi_version != DRVPROXY_ABI_VERSION)
		return -EPROTO;
	return drvproxy_dma_free(dp, req.id);
}

static long drvproxy_dispatch(struct drvproxy_dev *dp, unsigned int cmd,
			      void __user *uarg)
{
	switch (cmd) {
	case DRVPROXY_IOC_INFO:
		return drvproxy_ioc_info(dp, uarg);
	case DRVPROXY_IOC_SET_PROG:
		return drvproxy_ioc_set_prog(dp, uarg);
	case DRVPROXY_IOC_SET_IRQ:
		return drvproxy_ioc_set_irq(dp, uarg);
	case DRVPROXY_IOC_UNMASK:
		return drvproxy_unmask(dp);
	case DRVPROXY_IOC_DMA_MASK:
		return drvproxy_ioc_dma_mask(dp, uarg);
	case DRVPROXY_IOC_DMA_ALLOC:
		return drvproxy_ioc_dma_alloc(dp, uarg);
	case DRVPROXY_IOC_DMA_FREE:
		return drvproxy_ioc_dma_free(dp, uarg);
	case DRVPROXY_IOC_RESET:
		drvproxy_release_sequence(dp, false);
		return 0;
	default:
		return -ENOTTY;
	}
}

/* ---- File operations ----------------------------------------------------- */

static long drvproxy_ioctl(struct file *filp, unsigned int cmd,
			   unsigned long arg)
{
	struct drvproxy_dev *dp = filp->private_data;
	long ret;

	mutex_lock(&dp->lock);
	if (dp->dead)
		ret = -ENODEV;
	else
		ret = drvproxy_dispatch(dp, cmd, (void __user *)arg);
	mutex_unlock(&dp->lock);
	return ret;
}

static int drvproxy_open(struct inode *inode, struct file *filp)
{
	struct drvproxy_dev *dp = container_of(inode->i_cdev,
					       struct drvproxy_dev, cdev);
	int err = 0;

	mutex_lock(&dp->lock);
	if (dp->dead) {
		err = -ENODEV;
	} else if (dp->owner) {
		err = -EBUSY;
	} else {
		dp->owner = filp;
		dp->mapping = filp->f_mapping;
		atomic_set(&dp->owner_pid, task_tgid_nr(current));
		drvproxy_ring_reset(dp);
		filp->private_data = dp;
	}
	mutex_unlock(&dp->lock);
	if (err)
		return err;
	/* Records, not bytes at positions. */
	return stream_open(inode, filp);
}

/* The last reference to the file: close, exit, SIGKILL, or the last munmap. */
static int drvproxy_release(struct inode *inode, struct file *filp)
{
	struct drvproxy_dev *dp = filp->private_data;

	mutex_lock(&dp->lock);
	/* After remove, remove has run the release sequence already. */
	if (!dp->dead) {
		drvproxy_release_sequence(dp, false);
		drvproxy_forget_owner(dp);
	}
	dp->owner = NULL;
	dp->mapping = NULL;
	atomic_set(&dp->owner_pid, 0);
	mutex_unlock(&dp->lock);
	return 0;
}

static ssize_t drvproxy_read(struct file *filp, char __user *buf,
			     size_t count, loff_t *ppos)
{
	return drvproxy_ring_read(filp->private_data, filp, buf, count);
}

static __poll_t drvproxy_poll(struct file *filp, poll_table *wait)
{
	return drvproxy_ring_poll(filp->private_data, filp, wait);
}

static const struct file_operations drvproxy_fops = {
	.owner		= THIS_MODULE,
	.open		= drvproxy_open,
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

static ssize_t owner_pid_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	struct drvproxy_dev *dp = pci_get_drvdata(to_pci_dev(dev));

	return sysfs_emit(buf, "%d\n", atomic_read(&dp->owner_pid));
}
static DEVICE_ATTR_RO(owner_pid);

static struct attribute *drvproxy_attrs[] = {
	&dev_attr_interrupts.attr,
	&dev_attr_not_mine.attr,
	&dev_attr_dropped.attr,
	&dev_attr_releases.attr,
	&dev_attr_storms.attr,
	&dev_attr_owner_pid.attr,
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
	u16 cmd;
	int n;

	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	dp->intx_was_disabled = cmd & PCI_COMMAND_INTX_DISABLE;

	if (pdev->pin && pdev->irq && pdev->irq != IRQ_NOTCONNECTED)
		dp->intx_irq = pdev->irq;
	dp->intx_mask_ok = pdev->pin && !nointxmask &&
			   pci_intx_mask_supported(pdev);
	dp->has_msi = pdev->msi_cap != 0;
	n = pci_msix_vec_count(pdev);
	dp->msix_vectors = n > 0 ? n : 0;
}

static int drvproxy_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct drvproxy_dev *dp;
	int err;

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
	if (dp->owner) {
		/* From here on the owner's BAR pointers fault with SIGBUS. */
		unmap_mapping_range(dp->mapping, 0, 0, 1);
		drvproxy_release_sequence(dp, true);
	}
	/* Nobody answers for the device now: it must not assert its line. */
	drvproxy_intx_mask(dp);
	mutex_unlock(&dp->lock);
	wake_up_interruptible_all(&dp->wait);
	/* An open file keeps dp (not the device) until its last close. */
	put_device(&dp->dev);
}

static struct pci_driver drvproxy_driver = {
	.name		= DRVPROXY_NAME,
	.id_table	= NULL,		/* new_id or driver_override only */
	.probe		= drvproxy_probe,
	.remove		= drvproxy_remove,
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
