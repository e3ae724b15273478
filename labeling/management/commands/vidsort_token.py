"""Create or show a user's API token (DRF TokenAuthentication).

    manage.py vidsort_token alice            # prints alice's token, creating it if needed
    manage.py vidsort_token alice --rotate   # replaces it (the old one stops working)
    manage.py vidsort_token alice --revoke   # deletes it
    manage.py vidsort_token alice --read-only  # the token may only read (GET), never change
    manage.py vidsort_token alice --full     # lifts --read-only

A token acts with its user's role in each library (docs/team.md) and never more;
--read-only limits it further. --rotate keeps the token's scope unless one is given.

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
        scope = parser.add_mutually_exclusive_group()
        scope.add_argument(
            "--read-only",
            dest="read_only",
            action="store_const",
            const=True,
            help="Limit the token to reading: GET/HEAD/OPTIONS only, whatever the user's role.",
        )
        scope.add_argument(
            "--full",
            dest="read_only",
            action="store_const",
            const=False,
            help="Lift --read-only: the token may do what its user's role allows.",
        )

    def handle(
        self,
        *args: Any,
        username: str,
        rotate: bool,
        revoke: bool,
        read_only: bool | None = None,
        **options: Any,
    ) -> None:
        user = user_by_username(username=username)
        if user is None:
            raise CommandError(
                f"no user {username!r}; create one first (manage.py createsuperuser, or the admin)"
            )
        if not user.is_active:
            raise CommandError(f"user {username!r} is inactive; a token would not authenticate")
        if revoke:
            if read_only is not None:
                raise CommandError("--revoke cannot be combined with --read-only or --full")
            deleted = user_token_revoke(user=user)
            self.stderr.write(f"token of {username} {'revoked' if deleted else 'did not exist'}")
            return
        token, created = user_token_get_or_create(user=user, rotate=rotate, read_only=read_only)
        if created:
            self.stderr.write(f"new token for {username}")
        if read_only is not None:
            self.stderr.write(f"token of {username}: {'read-only' if read_only else 'full'}")
        self.stdout.write(token.key)
