// SPDX-License-Identifier: GPL-2.0
/*
 * drvproxy: is a device's DMA confined to the buffers its owner allocated?
 *
 * drvproxy hands out DMA memory through the DMA API, so the device's DMA is
 * confined by the DMA API's default IOMMU domain when that domain
 *  - translates (not identity or passthrough, where the device reaches all
 *    of memory),
 *  - invalidates strictly (a flush queue leaves a window in which the device
 *    still reaches pages that were already unmapped and freed), and
 *  - serves this device alone: every device of an IOMMU group shares the
 *    group's domain, so no other device of the group may be left to a kernel
 *    driver whose buffers live in that domain. Bridges are allowed, as VFIO
 *    allows them: they do no DMA of their own.
 * VFIO builds a domain of its own for user memory; drvproxy's buffers are
 * kernel allocations, for which the default domain is the natural home.
 */
#include <linux/iommu.h>
#include <linux/pci.h>

#include "drvproxy_priv.h"

/* iommu_group_for_each_dev() callback: nonzero stops the walk. */
static int drvproxy_group_member_unsafe(struct device *dev, void *data)
{
	struct pci_dev *self = data;
	struct pci_dev *other;

	if (dev == &self->dev || !dev->driver)
		return 0;
	if (!dev_is_pci(dev))
		return 1;
	other = to_pci_dev(dev);
	return pci_is_bridge(other) ? 0 : 1;
}

/*
 * True if the device's DMA is confined; otherwise *why names the reason, in
 * words for the kernel log and the sysfs attribute's readers.
 */
bool drvproxy_dma_confined(struct pci_dev *pdev, const char **why)
{
	struct iommu_domain *domain;
	struct iommu_group *group;
	int unsafe_member;

	domain = iommu_get_domain_for_dev(&pdev->dev);
	if (!domain) {
		*why = "no IOMMU";
		return false;
	}
	if (domain->type == IOMMU_DOMAIN_IDENTITY) {
		*why = "IOMMU in passthrough";
		return false;
	}
	if (domain->type == IOMMU_DOMAIN_DMA_FQ) {
		*why = "IOMMU in lazy mode (iommu.strict=0)";
		return false;
	}
	if (domain->type != IOMMU_DOMAIN_DMA) {
		*why = "IOMMU domain not a DMA API domain";
		return false;
	}
	group = iommu_group_get(&pdev->dev);
	if (!group) {
		*why = "no IOMMU group";
		return false;
	}
	unsafe_member = iommu_group_for_each_dev(group, pdev,
						 drvproxy_group_member_unsafe);
	iommu_group_put(group);
	if (unsafe_member) {
		*why = "another device of the IOMMU group has a kernel driver";
		return false;
	}
	*why = "";
	return true;
}
