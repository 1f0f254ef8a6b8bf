"""Role checks. Membership itself is verified by authentication on every request."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

OWNER, ADMIN, AGENT, VIEWER = "owner", "admin", "agent", "viewer"
ALL_ROLES = frozenset({OWNER, ADMIN, AGENT, VIEWER})
WRITER_ROLES = frozenset({OWNER, ADMIN, AGENT})
MANAGER_ROLES = frozenset({OWNER, ADMIN})


class HasWorkspaceRole(BasePermission):
    """Reads need any role; writes need ``view.write_roles`` (agents and up by default).

    A view narrows per action with ``role_requirements = {"destroy": MANAGER_ROLES}``, or all its
    reads with ``read_roles``.
    """

    message = "Your role in this workspace does not allow this action."

    def has_permission(self, request: Request, view: Any) -> bool:
        membership = getattr(request, "membership", None)
        if membership is None:
            return False
        action = getattr(view, "action", None)
        required = getattr(view, "role_requirements", {}).get(action)
        if required is None:
            required = (
                getattr(view, "read_roles", ALL_ROLES)
                if request.method in SAFE_METHODS
                else getattr(view, "write_roles", WRITER_ROLES)
            )
        return membership.role in required
