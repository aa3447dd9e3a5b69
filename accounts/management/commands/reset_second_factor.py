from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services import reset_second_factor


class Command(BaseCommand):
    help = "Remove a user's authenticator app (a lost phone): the next sign-in enrols a new one."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options) -> None:
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        removed = reset_second_factor(user)
        self.stdout.write(f"Removed {removed} device(s) of {username}.")
