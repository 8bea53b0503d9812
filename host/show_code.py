# The show's code as live reload sees it, compiled into the host (host/show_code.h) and run as
# the module _mmpy_show_code: which source files the show's modules came from, exactly as they
# ran; whether they changed on disk; forgetting them; and importing a kept version again.
#
# The show's modules are the instance's `module =` files and every module imported from the
# configuration's folder. They load through ShowSource: from the source text, never from a
# bytecode cache (a save within the same second that keeps the file's size would otherwise
# run the old bytecode), and the text that ran is kept.
import gc
import importlib.abc
import importlib.machinery
import importlib.util
import io
import os
import site
import sys


class ShowSource(importlib.abc.SourceLoader):
    """Loads one module of the show from its source text, keeping the text that ran."""

    def __init__(self, code, name, path):
        self._code = code
        self._name = name
        self.path = path

    def get_filename(self, fullname):
        return self.path

    def get_data(self, path):
        if path == self.path:
            return self._code.source_of(self._name, path)
        with io.open_code(path) as f:
            return f.read()


class ShowFinder:
    """On sys.meta_path: a module found in the configuration's folder loads through
    ShowSource; anything else is left to the regular finders."""

    def __init__(self, code):
        self._code = code

    def find_spec(self, name, path=None, target=None):
        kept = self._code.kept_path(name)
        if kept is not None:  # going back: the kept text, even if the file is gone since
            package = [os.path.dirname(kept)] if os.path.basename(kept) == "__init__.py" else None
            return importlib.util.spec_from_file_location(
                name, kept, loader=ShowSource(self._code, name, kept), submodule_search_locations=package)
        spec = importlib.machinery.PathFinder.find_spec(name, path, target)
        if (spec is None or not isinstance(spec.loader, importlib.machinery.SourceFileLoader)
                or not self._code.in_folder(spec.origin)):
            return None
        return importlib.util.spec_from_file_location(
            name, spec.origin, loader=ShowSource(self._code, name, spec.origin),
            submodule_search_locations=spec.submodule_search_locations)


class ShowCode:
    """The show's modules with the source each one ran: the running version."""

    def __init__(self, folder):
        self.folder = os.path.join(os.path.realpath(folder), "")
        # Installed packages are libraries even inside the show's folder (a virtualenv there):
        # they are never reloaded (a C extension cannot be initialized twice).
        prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, site.getusersitepackages()}
        prefixes.update(site.getsitepackages())
        self._libraries = tuple(os.path.join(os.path.realpath(p), "") for p in prefixes if p)
        self.sources = {}  # module name -> (path, source bytes) of the running version
        self._kept = None  # name -> (path, bytes) served instead of the disk while going back
        self._finder = ShowFinder(self)
        sys.meta_path.insert(0, self._finder)

    def in_folder(self, path):
        if path is None:
            return False
        path = os.path.realpath(path)
        parts = path.split(os.sep)
        return (path.startswith(self.folder) and not path.startswith(self._libraries)
                and "site-packages" not in parts and "dist-packages" not in parts)

    def kept_path(self, name):
        kept = self._kept.get(name) if self._kept is not None else None
        return kept[0] if kept is not None else None

    def source_of(self, name, path):
        kept = self._kept.get(name) if self._kept is not None else None
        if kept is not None and kept[0] == path:
            data = kept[1]
        else:
            # open_code(): what becomes code is read the way the interpreter's own loaders
            # read it (PEP 578), so open-code hooks see it.
            with io.open_code(path) as f:
                data = f.read()
        self.sources[name] = (path, data)
        return data

    def load_path(self, path):
        """module = some/file.py: loaded under its file name, as the old docs describe."""
        name = os.path.splitext(os.path.basename(path))[0]
        path = os.path.abspath(path)
        if not path.endswith(".py"):
            raise ImportError("%s is not a Python source file" % path, path=path)
        spec = importlib.util.spec_from_file_location(name, path, loader=ShowSource(self, name, path))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module

    def files(self):
        """The source files of the running version, for the file watch."""
        return sorted({path for path, _ in self.sources.values()})

    def changed(self):
        """The files whose text on disk differs from what runs (a deleted one counts)."""
        changed = []
        for path, data in sorted(set(self.sources.values())):
            try:
                with open(path, "rb") as f:
                    if f.read() == data:
                        continue
            except OSError:
                pass
            changed.append(path)
        return changed

    def check(self, paths):
        """None, or (file, line, message) of the first file in paths that does not compile."""
        for path in paths:
            try:
                with io.open_code(path) as f:
                    compile(f.read(), path, "exec", dont_inherit=True)
            except FileNotFoundError:
                continue  # deleted: whether the new code still needs it, its import says
            except SyntaxError as error:
                return (error.filename or path, error.lineno or 0,
                        "%s: %s" % (type(error).__name__, error.msg))
            except (OSError, ValueError) as error:
                return (path, 0, "%s: %s" % (type(error).__name__, error))
        return None

    def forget(self):
        """Drops the running version's modules so that the next import runs them anew; returns
        that version, for going back to it. References that would keep the old code alive
        (the last traceback, reference cycles) go, so that sockets and files only it held
        are closed now, before the new code opens them again."""
        version = self.sources
        self.sources = {}
        for name in version:
            sys.modules.pop(name, None)
        for name in ("last_type", "last_value", "last_traceback", "last_exc"):
            if hasattr(sys, name):
                setattr(sys, name, None)
        importlib.invalidate_caches()
        gc.collect()
        return version

    def keep(self, version):
        """While `version` is not None, imports of its modules run its kept text instead of
        the disk's: going back to a version whose files have changed since."""
        self._kept = version

    def close(self):
        if self._finder in sys.meta_path:
            sys.meta_path.remove(self._finder)
