"""Create or show a user's API token (DRF TokenAuthentication).

    manage.py vidsort_token alice            # prints alice's token, creating it if needed
    manage.py vidsort_token alice --rotate   # replaces it (the old one stops working)
    manage.py vidsort_token alice --revoke   # deletes it

Only the key goes to stdout, so `TOKEN=$(manage.py vidsort_token alice)` works. Scripts
send it as the header `Authorization: Token <key>`; it is never accepted in a URL.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from labeling.selectors.users import user_by_username
from labeling.services.users import user_token_get_or_create, user_token_revoke


class Command(BaseCommand):
    help = "Create (or show, rotate, revoke) the API token of a user."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        group = parser.add_mutually_exclusive_group()
        group.add_argument(
            "--rotate", action="store_true", help="Replace the token with a new one."
        )
        group.add_argument("--revoke", action="store_true", help="Delete the token.")

    def handle(self, *args: Any, username: str, rotate: bool, revoke: bool, **options: Any) -> None:
        user = user_by_username(username=username)
        if user is None:
            raise CommandError(
                f"no user {username!r}; create one first (manage.py createsuperuser, or the admin)"
            )
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive; a token would not authenticate")
        if revoke:
            deleted = user_token_revoke(user=user)
            self.stderr.write(f"token of {username} {'revoked' if deleted else 'did not exist'}")
            return
        token, created = user_token_get_or_create(user=user, rotate=rotate)
        if created:
            self.stderr.write(f"new token for {username}")
        self.stdout.write(token.key)
