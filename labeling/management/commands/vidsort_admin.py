from __future__ import annotations

import os
import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from labeling.selectors.users import user_exists
from labeling.services.users import user_admin_create


class Command(BaseCommand):
    help = (
        "Create the admin user if it does not exist. The password comes from "
        "VIDSORT_ADMIN_PASSWORD or is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default=os.environ.get("VIDSORT_ADMIN_USER", "admin"))

    def handle(self, *args: Any, username: str, **opts: Any) -> None:
        if user_exists(username=username):
            self.stdout.write(f"admin user {username!r} exists; password unchanged")
            return
        password = os.environ.get("VIDSORT_ADMIN_PASSWORD") or secrets.token_urlsafe(12)
        user_admin_create(username=username, password=password)
        if os.environ.get("VIDSORT_ADMIN_PASSWORD"):
            self.stdout.write(
                f"created admin user {username!r} (password from VIDSORT_ADMIN_PASSWORD)"
            )
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"created admin user {username!r} with password {password}  "
                    "(shown once; change it in the admin)"
                )
            )
