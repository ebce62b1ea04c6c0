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
 * Neither path takes the device mutex: they run under mmap_lock, which the
 * ioctls may take (copy_from_user) while holding the mutex.
 */
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/version.h>

#include "drvproxy_priv.h"

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define drvproxy_vm_flags_set(vma, flags)	vm_flags_set(vma, flags)
#else
#define drvproxy_vm_flags_set(vma, flags)	((vma)->vm_flags |= (flags))
#endif

static void drvproxy_dma_destroy(struct kref *ref)
{
	struct drvproxy_dma *buf = container_of(ref, struct drvproxy_dma, ref);

	dma_free_coherent(buf->dev, buf->size, buf->cpu, buf->bus);
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

/* DMA_ALLOC; dp->lock held. Fills in id, bus_addr and mmap_offset. */
int drvproxy_dma_alloc(struct drvproxy_dev *dp, struct drvproxy_dma_alloc *req)
{
	struct device *dev = &dp->pdev->dev;
	struct drvproxy_dma *buf;
	int id;

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
	/* User space asks; a failure is its answer, not a kernel warning. */
	buf->cpu = dma_alloc_coherent(dev, buf->size, &buf->bus,
				      GFP_KERNEL | __GFP_NOWARN);
	if (!buf->cpu) {
		kfree(buf);
		return -ENOMEM;
	}
	buf->dev = get_device(dev);

	spin_lock(&dp->dma_lock);
	dp->dma[id] = buf;
	spin_unlock(&dp->dma_lock);
	/* There is memory for the device to use now. */
	drvproxy_set_bus_master(dp, true);

	req->id = id;
	req->bus_addr = buf->bus;
	req->mmap_offset = DRVPROXY_MMAP_DMA(id);
	return 0;
}

/* Drop the proxy's reference; a mapped buffer lives until its last unmap. */
int drvproxy_dma_free(struct drvproxy_dev *dp, u32 id)
{
	struct drvproxy_dma *buf;

	if (id >= DRVPROXY_MAX_DMA_BUFFERS)
		return -EINVAL;
	spin_lock(&dp->dma_lock);
	buf = dp->dma[id];
	dp->dma[id] = NULL;
	spin_unlock(&dp->dma_lock);
	if (!buf)
		return -EINVAL;
	drvproxy_dma_put(buf);
	return 0;
}

void drvproxy_dma_release_all(struct drvproxy_dev *dp)
{
	u32 id;

	for (id = 0; id < DRVPROXY_MAX_DMA_BUFFERS; id++)
		drvproxy_dma_free(dp, id);
}

static vm_fault_t drvproxy_bar_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct drvproxy_dev *dp = vma->vm_private_data;
	u64 off = (u64)vmf->pgoff << PAGE_SHIFT;
	u64 bar = off >> DRVPROXY_MMAP_SHIFT;
	u64 boff = off & DRVPROXY_MMAP_OFFSET_MASK;
	vm_fault_t ret = VM_FAULT_SIGBUS;

	down_read(&dp->zap_sem);
	if (!dp->dead && bar < DRVPROXY_NUM_BARS &&
	    boff < dp->rbars[bar].size &&
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
	u64 size = dp->rbars[bar].size;

	if (!size || dp->rbars[bar].is_io)
		return -EINVAL;
	/* A BAR that shares its first page with something else stays out. */
	if (pci_resource_start(dp->pdev, bar) & ~PAGE_MASK)
		return -EINVAL;
	if (off >= size || len > size - off)
		return -EINVAL;
	drvproxy_vm_flags_set(vma, VM_IO | VM_PFNMAP | VM_DONTEXPAND |
			      VM_DONTDUMP);
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

/* All pages are mapped in mmap(); a fault means remove zapped them. */
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
	struct drvproxy_dma *buf;
	int err;

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
	/* dma_mmap_coherent() takes vm_pgoff as the offset into the buffer. */
	vma->vm_pgoff = off >> PAGE_SHIFT;
	drvproxy_vm_flags_set(vma, VM_DONTEXPAND | VM_DONTDUMP);
	err = dma_mmap_coherent(buf->dev, vma, buf->cpu, buf->bus, buf->size);
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
