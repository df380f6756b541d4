"""PeerMatch on Discord (discord.py 2.7).

For bot/ (the composition root)::

    from adapters.discord.client import create_client, run_discord
    from adapters.discord.deliver import DiscordDeliverer
    from adapters.discord.settings import DiscordSettings

``await run_discord(services, settings, deliverers)`` connects, syncs the commands and
serves until cancelled, after adding ``deliverers["discord"]`` for the outbox dispatcher.
Nothing is imported here so that loading the settings does not load discord.py.
"""
