"""Sphinx extension for the student edition (``make student``): drop every solution.

sphinx-exercise's own ``hide_solutions`` drops ``{solution}`` blocks but breaks on the
gated ``{solution-start}`` / ``{solution-end}`` pair (it keeps the end marker and the
cells in between). This extension lets sphinx-exercise merge the gated pairs first and
then removes every solution node, so both kinds disappear, code cells included.
"""

from sphinx.transforms import SphinxTransform
from sphinx_exercise.nodes import solution_node
from sphinx_exercise.transforms import MergeGatedSolutions


class RemoveSolutions(SphinxTransform):
    default_priority = MergeGatedSolutions.default_priority + 1

    def apply(self):
        for node in list(self.document.findall(solution_node)):
            node.parent.remove(node)


def setup(app):
    app.setup_extension("sphinx_exercise")
    app.add_transform(RemoveSolutions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
