"""Admission plugins of the emulated API server: in-process, synchronous, run on create.

Mutating plugins first, then the validating quota check last, as kube-apiserver orders
its default plugins (LimitRanger, ServiceAccount, DefaultStorageClass, DefaultTolerationSeconds, ...,
ResourceQuota).
"""

from __future__ import annotations

from preview.sandbox.admission.limitranger import LimitRangerAdmission
from preview.sandbox.admission.resourcequota import ResourceQuotaAdmission
from preview.sandbox.admission.serviceaccount import ServiceAccountAdmission
from preview.sandbox.admission.storageclass import DefaultStorageClassAdmission
from preview.sandbox.admission.tolerationseconds import DefaultTolerationSecondsAdmission
from preview.sandbox.store import Store
from preview.sandbox.strategies import Admission


def plugins(store: Store) -> list[Admission]:
    """The default plugin chain, in kube-apiserver's order."""
    return [LimitRangerAdmission(store), ServiceAccountAdmission(store),
            DefaultStorageClassAdmission(store), DefaultTolerationSecondsAdmission(),
            ResourceQuotaAdmission(store)]
