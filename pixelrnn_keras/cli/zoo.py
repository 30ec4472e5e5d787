"""`pixelrnn zoo list` and `pixelrnn zoo info`: the zoo's entries and cards."""

from pixelrnn_keras.cli.common import UsageError


def cmd_zoo_list(args):
    from pixelrnn_keras.zoo import get_card, list_models

    names = list_models(args.pattern)
    if not names:
        raise UsageError(f"no zoo entry matches {args.pattern!r}; the entries are {list_models()}")
    for name in names:
        card = get_card(name)
        print(f"{name:24s} {card.params:>10,d} params  {_figure(card.metrics):42s} {card.summary}")


def _figure(metrics):
    """A card's measured likelihood in both units (MNIST papers give nats/image, CIFAR-10 ones bits/dim)."""
    if metrics is None:
        return "-"
    return f"{metrics['nats']:.2f} nats, {metrics['bits_per_dim']:.4f} bits/dim ({metrics['split']})"


def cmd_zoo_info(args):
    from pixelrnn_keras.zoo import get_card

    print(get_card(args.name).to_json(), end="")


def add_commands(commands):
    """Adds this group's commands to the `pixelrnn` subparsers `commands`."""
    zoo = commands.add_parser("zoo", help="list the zoo or show a card")
    zoo_commands = zoo.add_subparsers(dest="zoo_command", required=True)
    zoo_list = zoo_commands.add_parser("list")
    zoo_list.add_argument("pattern", nargs="?", default="*")
    zoo_list.set_defaults(prog=zoo_list.prog, run=cmd_zoo_list)
    zoo_info = zoo_commands.add_parser("info")
    zoo_info.add_argument("name")
    zoo_info.set_defaults(prog=zoo_info.prog, run=cmd_zoo_info)
