# The operator's end of `mm-pyhost console` (host/console_client.cpp): the prompt, with
# readline's line editing, history and tab completion. `host` runs each statement in the
# show and completes names there.
import os
import sys

try:
    import readline
except ImportError:  # Python without readline: no editing, no history, the prompt still works
    readline = None


def _history_path():
    state = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(state, "mm-pyhost", "console_history")


def _prepare_readline(host, history):
    try:
        readline.read_history_file(history)
    except OSError:
        pass  # no history yet
    readline.set_history_length(1000)
    found = []

    def complete(text, state):
        if not text.strip():  # Tab on an empty line indents, as at Python's own prompt
            if state == 0:
                readline.insert_text("\t")
                readline.redisplay()
                return ""
            return None
        if state == 0:
            found[:] = host.complete(text)
        return found[state] if state < len(found) else None

    readline.set_completer(complete)
    readline.parse_and_bind("tab: complete")


def main(host, banner):
    history = _history_path()
    if readline is not None:
        _prepare_readline(host, history)
    print(banner)
    lines = []
    status = 0
    while True:
        try:
            line = input("... " if lines else ">>> ")
        except EOFError:
            print()
            break
        except KeyboardInterrupt:
            print("\nKeyboardInterrupt")
            lines = []
            continue
        lines.append(line)
        try:
            more, output = host.run("\n".join(lines))
        except ConnectionError as exc:
            print("mm-pyhost: %s" % exc, file=sys.stderr)
            status = 1
            break
        except ValueError as exc:
            more, output = False, "mm-pyhost: %s\n" % exc
        except KeyboardInterrupt:
            more, output = False, "KeyboardInterrupt\n"
        sys.stdout.write(output)
        sys.stdout.flush()
        if not more:
            lines = []
    if readline is not None:
        try:
            os.makedirs(os.path.dirname(history), mode=0o700, exist_ok=True)
            readline.write_history_file(history)
        except OSError as exc:
            print("mm-pyhost: the console's history was not saved: %s" % exc, file=sys.stderr)
    return status
