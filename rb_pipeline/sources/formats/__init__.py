"""Format adapters: turn one source record into raw examples (prompt, chosen and rejected answers).

One module per format, each registering its adapter in `registry` when imported. Importing this
package (as `from rb_pipeline.sources.formats.registry import get_adapter` does) imports every module
in it, so a new format is one new file here.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
