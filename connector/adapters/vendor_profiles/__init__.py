"""Vendor profiles for adaptive and diagnostic exports (see :mod:`.profile`)."""

from connector.adapters.vendor_profiles.profile import (
    VendorProfile,
    conversion_defaults,
    find_profile,
    read_row,
    shipped_profiles,
)

__all__ = ["VendorProfile", "conversion_defaults", "find_profile", "read_row", "shipped_profiles"]
