// SPDX-License-Identifier: GPL-2.0
/*
 * drvproxy: memory. Coherent DMA buffers, and mmap() of BARs and buffers.
 *
 * BAR pages are inserted at fault time, not in mmap(): mmap_region() links
 * the VMA into the file's mapping only after ->mmap returns, so pages set
 * up inside mmap() could escape the zap that remove does. A fault checks
 * `dead` under zap_sem, remove sets it for write and then zaps, so no user
 * mapping of a BAR survives remove.
 *
 * Neither path takes the device mutex: they run under mmap_lock, which a
 * user copy takes.
 *
 * Every mapping is the owner's alone: VM_DONTCOPY keeps it out of a forked
 * child, and each VMA keeps its file offset (DMA buffers included), so that
 * zapping a buffer's or the BARs' range of the file reaches exactly them.
 */
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/nospec.h>
#include <linux/sched/signal.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/version.h>

#include "drvproxy_priv.h"

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define drvproxy_vm_flags_set(vma, flags)	vm_flags_set(vma, flags)
#else
#define drvproxy_vm_flags_set(vma, flags)	((vma)->vm_flags |= (flags))
#endif

/* All owners' DMA memory together, against dma_limit_mb. */
static atomic_long_t drvproxy_dma_pages_total = ATOMIC_LONG_INIT(0);

static unsigned long drvproxy_dma_limit_pages(void)
{
	unsigned int mb = READ_ONCE(drvproxy_dma_limit_mb);

	return mb ? (unsigned long)mb << (20 - PAGE_SHIFT) :
		    totalram_pages() / 8;
}

/*
 * Charge pages to the machine-wide cap and, unless the caller may lock
 * memory without limit, to its user's RLIMIT_MEMLOCK, as io_uring and VFIO
 * charge pinned memory. Lock-free: no mmap_lock is taken here.
 */
static int drvproxy_dma_charge(struct drvproxy_dev *dp,
			       struct drvproxy_dma *buf, unsigned long pages)
{
	unsigned long memlock = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	struct user_struct *user = dp->owner_user;

	if (atomic_long_add_return(pages, &drvproxy_dma_pages_total) >
	    drvproxy_dma_limit_pages())
		goto uncharge_total;
	if (capable(CAP_IPC_LOCK))
		return 0;
	if (atomic_long_add_return(pages, &user->locked_vm) > memlock) {
		atomic_long_sub(pages, &user->locked_vm);
		goto uncharge_total;
	}
	buf->charged = get_uid(user);
	return 0;

uncharge_total:
	atomic_long_sub(pages, &drvproxy_dma_pages_total);
	return -ENOMEM;
}

static void drvproxy_dma_uncharge(struct drvproxy_dma *buf)
{
	unsigned long pages = buf->size >> PAGE_SHIFT;

	atomic_long_sub(pages, &drvproxy_dma_pages_total);
	if (buf->charged) {
		atomic_long_sub(pages, &buf->charged->locked_vm);
		free_uid(buf->charged);
		buf->charged = NULL;
	}
}

/* Free the memory now; the struct stays while a VMA still points at it. */
static void drvproxy_dma_free_memory(struct drvproxy_dma *buf)
{
	dma_free_coherent(buf->dev, buf->size, buf->cpu, buf->bus);
	buf->cpu = NULL;
	drvproxy_dma_uncharge(buf);
}

static void drvproxy_dma_destroy(struct kref *ref)
{
	struct drvproxy_dma *buf = container_of(ref, struct drvproxy_dma, ref);

	put_device(buf->dev);
	kfree(buf);
}

static void drvproxy_dma_put(struct drvproxy_dma *buf)
{
	kref_put(&buf->ref, drvproxy_dma_destroy);
}

/* A free buffer id; dp->lock held (the table only changes under it). */
static int drvproxy_dma_free_id(struct drvproxy_dev *dp)
{
	int id;

	for (id = 0; id < DRVPROXY_MAX_DMA_BUFFERS; id++)
		if (!dp->dma[id])
			return id;
	return -ENOSPC;
}

/*
 * DMA_ALLOC; dp->lock held. Fills in id, bus_addr and mmap_offset. Bus
 * mastering is left as it is: the owner turns it on (BUS_MASTER).
 */
int drvproxy_dma_alloc(struct drvproxy_dev *dp, struct drvproxy_dma_alloc *req)
{
	struct device *dev = &dp->pdev->dev;
	struct drvproxy_dma *buf;
	int id, err;

	if (!req->size || req->size > DRVPROXY_MAX_DMA_SIZE)
		return -EINVAL;
	id = drvproxy_dma_free_id(dp);
	if (id < 0)
		return id;
	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	kref_init(&buf->ref);
	buf->size = PAGE_ALIGN(req->size);
	err = drvproxy_dma_charge(dp, buf, buf->size >> PAGE_SHIFT);
	if (err)
		goto free_buf;
	/* User space asks; a failure is its answer, not a kernel warning. */
	buf->cpu = dma_alloc_coherent(dev, buf->size, &buf->bus,
				      GFP_KERNEL | __GFP_NOWARN);
	if (!buf->cpu) {
		err = -ENOMEM;
		goto uncharge;
	}
	buf->dev = get_device(dev);

	spin_lock(&dp->dma_lock);
	dp->dma[id] = buf;
	spin_unlock(&dp->dma_lock);

	req->id = id;
	req->bus_addr = buf->bus;
	req->mmap_offset = DRVPROXY_MMAP_DMA(id);
	return 0;

uncharge:
	drvproxy_dma_uncharge(buf);
free_buf:
	kfree(buf);
	return err;
}

/*
 * Take a buffer from the device and from the owner: its mappings are zapped
 * (a later touch faults with SIGBUS), then its memory is freed, at once.
 * dp->lock held, and the owner's mmap_lock and zap_sem for writing (see
 * drvproxy_zap_lock()), so no mmap() of it can be under way.
 */
static int drvproxy_dma_take(struct drvproxy_dev *dp, u32 id)
{
	struct drvproxy_dma *buf;

	spin_lock(&dp->dma_lock);
	buf = dp->dma[id];
	dp->dma[id] = NULL;
	spin_unlock(&dp->dma_lock);
	if (!buf)
		return -EINVAL;
	if (dp->mapping)
		unmap_mapping_range(dp->mapping, DRVPROXY_MMAP_DMA(id),
				    1ULL << DRVPROXY_MMAP_SHIFT, 1);
	drvproxy_dma_free_memory(buf);
	drvproxy_dma_put(buf);
	return 0;
}

/* DMA_FREE; dp->lock held. */
int drvproxy_dma_free(struct drvproxy_dev *dp, u32 id)
{
	int err;

	if (id >= DRVPROXY_MAX_DMA_BUFFERS)
		return -EINVAL;
	id = array_index_nospec(id, DRVPROXY_MAX_DMA_BUFFERS);
	drvproxy_zap_lock(dp);
	err = drvproxy_dma_take(dp, id);
	drvproxy_zap_unlock(dp);
	return err;
}

/* Every buffer; the release sequence holds what drvproxy_dma_take() needs. */
void drvproxy_dma_release_all(struct drvproxy_dev *dp)
{
	u32 id;

	for (id = 0; id < DRVPROXY_MAX_DMA_BUFFERS; id++)
		drvproxy_dma_take(dp, id);
}

/*
 * Hold off every new mapping of the owner's while its mappings are zapped:
 * mmap() links a VMA into the file only after ->mmap returns, so zap_sem
 * alone would let a mapping made just before a zap escape it. The owner's
 * mmap_lock closes that window (other processes cannot map the file at
 * all); taking it before zap_sem is the order the fault path takes them in.
 * dp->lock held.
 */
void drvproxy_zap_lock(struct drvproxy_dev *dp)
{
	if (dp->owner_mm)
		mmap_write_lock(dp->owner_mm);
	down_write(&dp->zap_sem);
}

void drvproxy_zap_unlock(struct drvproxy_dev *dp)
{
	up_write(&dp->zap_sem);
	if (dp->owner_mm)
		mmap_write_unlock(dp->owner_mm);
}

static vm_fault_t drvproxy_bar_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct drvproxy_dev *dp = vma->vm_private_data;
	u64 off = (u64)vmf->pgoff << PAGE_SHIFT;
	u64 bar = off >> DRVPROXY_MMAP_SHIFT;
	u64 boff = off & DRVPROXY_MMAP_OFFSET_MASK;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	if (bar >= DRVPROXY_NUM_BARS)
		return VM_FAULT_SIGBUS;
	bar = array_index_nospec(bar, DRVPROXY_NUM_BARS);
	down_read(&dp->zap_sem);
	if (!dp->dead && boff < dp->rbars[bar].size &&
	    !drvproxy_bar_range_protected(dp, bar, boff, PAGE_SIZE))
		ret = vmf_insert_pfn(vma, vmf->address,
				     (pci_resource_start(dp->pdev, bar) + boff) >>
				     PAGE_SHIFT);
	up_read(&dp->zap_sem);
	return ret;
}

static const struct vm_operations_struct drvproxy_bar_vm_ops = {
	.fault = drvproxy_bar_fault,
};

static int drvproxy_mmap_bar(struct drvproxy_dev *dp,
			     struct vm_area_struct *vma, u32 bar, u64 off,
			     u64 len)
{
	u64 size;

	bar = array_index_nospec(bar, DRVPROXY_NUM_BARS);
	size = dp->rbars[bar].size;

	if (!size || dp->rbars[bar].is_io)
		return -EINVAL;
	/* A BAR that shares its first page with something else stays out. */
	if (pci_resource_start(dp->pdev, bar) & ~PAGE_MASK)
		return -EINVAL;
	if (off >= size || len > size - off)
		return -EINVAL;
	drvproxy_vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND |
			      VM_DONTDUMP | VM_DONTCOPY);
	vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	vma->vm_private_data = dp;
	vma->vm_ops = &drvproxy_bar_vm_ops;
	return 0;
}

/* Every VMA of a buffer holds a reference: fork and split call ->open. */
static void drvproxy_dma_vm_open(struct vm_area_struct *vma)
{
	struct drvproxy_dma *buf = vma->vm_private_data;

	kref_get(&buf->ref);
}

static void drvproxy_dma_vm_close(struct vm_area_struct *vma)
{
	drvproxy_dma_put(vma->vm_private_data);
}

/* All pages are mapped in mmap(); a fault means the buffer was taken back. */
static vm_fault_t drvproxy_dma_fault(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static const struct vm_operations_struct drvproxy_dma_vm_ops = {
	.open = drvproxy_dma_vm_open,
	.close = drvproxy_dma_vm_close,
	.fault = drvproxy_dma_fault,
};

static int drvproxy_mmap_dma(struct drvproxy_dev *dp,
			     struct vm_area_struct *vma, u32 id, u64 off,
			     u64 len)
{
	unsigned long file_pgoff = vma->vm_pgoff;
	struct drvproxy_dma *buf;
	int err;

	id = array_index_nospec(id, DRVPROXY_MAX_DMA_BUFFERS);
	spin_lock(&dp->dma_lock);
	buf = dp->dma[id];
	if (buf)
		kref_get(&buf->ref);
	spin_unlock(&dp->dma_lock);
	if (!buf)
		return -EINVAL;
	if (off >= buf->size || len > buf->size - off) {
		err = -EINVAL;
		goto put_buf;
	}
	/*
	 * dma_mmap_coherent() takes vm_pgoff as the offset into the buffer;
	 * the VMA gets its file offset back, or a zap of the BARs' range
	 * would hit it and a zap of the buffer's range would miss it.
	 */
	vma->vm_pgoff = off >> PAGE_SHIFT;
	drvproxy_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP | VM_DONTCOPY);
	err = dma_mmap_coherent(buf->dev, vma, buf->cpu, buf->bus, buf->size);
	vma->vm_pgoff = file_pgoff;
	if (err)
		goto put_buf;
	vma->vm_private_data = buf;
	vma->vm_ops = &drvproxy_dma_vm_ops;
	return 0;

put_buf:
	drvproxy_dma_put(buf);
	return err;
}

int drvproxy_mmap(struct file *filp, struct vm_area_struct *vma)
{
	struct drvproxy_dev *dp = filp->private_data;
	u64 off = (u64)vma->vm_pgoff << PAGE_SHIFT;
	u64 region = off >> DRVPROXY_MMAP_SHIFT;
	u64 roff = off & DRVPROXY_MMAP_OFFSET_MASK;
	u64 len = vma->vm_end - vma->vm_start;
	int err;

	err = drvproxy_check_caller(dp, filp);
	if (err)
		return err;
	down_read(&dp->zap_sem);
	if (dp->dead)
		err = -ENODEV;
	else if (!(vma->vm_flags & VM_MAYSHARE))
		/* Copy-on-write device memory makes no sense. */
		err = -EINVAL;
	else if (region < DRVPROXY_NUM_BARS)
		err = drvproxy_mmap_bar(dp, vma, region, roff, len);
	else if (region >= DRVPROXY_MMAP_DMA_FIRST &&
		 region - DRVPROXY_MMAP_DMA_FIRST < DRVPROXY_MAX_DMA_BUFFERS)
		err = drvproxy_mmap_dma(dp, vma,
					region - DRVPROXY_MMAP_DMA_FIRST,
					roff, len);
	else
		err = -EINVAL;
	up_read(&dp->zap_sem);
	return err;
}
