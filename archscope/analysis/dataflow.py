"""The data flow of a trace: which op made each tensor, which ops and calls consumed it.

The tracer numbers tensors as ops produce them, so producers and consumers link by tensor id. On
top of that this module answers the questions the analyses ask:

- which ops lie between the model's input and its main (first) output (``live``);
- which tensors every such path passes through (``main_path``): a block's output is one, a tensor
  inside one of its branches is not, so the main path reads "conv1 … inception3a … fc" whatever the
  nesting of modules;
- which module call feeds which (``call_edges``), through concatenations, adds and functional ops.

An op is a *pass-through* when it keeps its data input's shape and only rescales or gates values
elementwise (batch norm, activations): a 1×1 convolution followed by BatchNorm and ReLU still feeds
the convolution after them directly, as the papers draw it.
"""

from __future__ import annotations

from functools import cached_property

from archscope.records import LayerCall, OpCall, Trace

PASS_THROUGH_CATEGORIES = {"normalization", "activation"}
CONVOLUTION = "aten.convolution."
MERGE_OPS = ("aten.cat.", "aten.add.", "aten.add_.")


class DataFlow:
    def __init__(self, trace: Trace) -> None:
        self.trace = trace
        self.ops = trace.ops
        self.calls = trace.layers
        self.sources = {spec.tensor_id for spec in trace.inputs}
        root = trace.layers[0] if trace.layers else None
        self.outputs = [spec.tensor_id for spec in root.outputs] if root and root.outputs else []
        self.sink = self.outputs[0] if self.outputs else None  # the main output: a model's logits

    @cached_property
    def producer(self) -> dict[int, OpCall]:
        return {tensor: op for op in self.ops for tensor in op.outputs}

    @cached_property
    def consumers(self) -> dict[int, list[OpCall]]:
        found: dict[int, list[OpCall]] = {}
        for op in self.ops:
            for tensor in dict.fromkeys(op.inputs):
                found.setdefault(tensor, []).append(op)
        return found

    # -- reachability ---------------------------------------------------------------------------
    def _forward(self, tensors) -> set[int]:
        """Indexes of the ops that depend on ``tensors``."""
        seen: set[int] = set()
        todo = list(tensors)
        while todo:
            for op in self.consumers.get(todo.pop(), ()):
                if op.index not in seen:
                    seen.add(op.index)
                    todo.extend(op.outputs)
        return seen

    def _backward(self, tensors) -> set[int]:
        """Indexes of the ops that ``tensors`` depend on."""
        seen: set[int] = set()
        todo = list(tensors)
        while todo:
            op = self.producer.get(todo.pop())
            if op is not None and op.index not in seen:
                seen.add(op.index)
                todo.extend(op.inputs)
        return seen

    @cached_property
    def from_inputs(self) -> set[int]:
        return self._forward(self.sources)

    @cached_property
    def live(self) -> set[int]:
        """Ops on some path from an input to the main output."""
        if self.sink is None:
            return set()
        return self.from_inputs & self._backward([self.sink])

    @cached_property
    def side(self) -> set[int]:
        """Ops that depend on the input but feed only outputs other than the main one: side heads."""
        others = self._backward(self.outputs[1:]) if len(self.outputs) > 1 else set()
        return (self.from_inputs & others) - self.live

    @cached_property
    def main_path(self) -> set[int]:
        """Tensors every path from the input to the main output passes through.

        Ops run in a topological order, so an op lies on every path exactly when no edge between two
        live ops jumps over its position (a branch, a skip connection)."""
        order = sorted(self.live)
        position = {index: rank + 1 for rank, index in enumerate(order)}  # 0: the input, n + 1: the output
        cover = [0] * (len(order) + 3)

        def jump(start: int, end: int) -> None:
            if end - start > 1:
                cover[start + 1] += 1
                cover[end] -= 1

        for index in order:
            for tensor in dict.fromkeys(self.ops[index].inputs):
                if tensor in self.sources:
                    jump(0, position[index])
                elif (producer := self.producer.get(tensor)) is not None and producer.index in position:
                    jump(position[producer.index], position[index])
        if self.sink in self.producer:
            jump(position[self.producer[self.sink].index], len(order) + 1)
        tensors, running = set(self.sources), 0
        live_tensors = {tensor for index in order for tensor in self.ops[index].inputs} | {self.sink}
        for index in order:
            running += cover[position[index]]
            if running == 0:
                tensors.update(tensor for tensor in self.ops[index].outputs if tensor in live_tensors)
        return tensors

    # -- chains of ops --------------------------------------------------------------------------
    def only_consumer(self, tensor: int) -> OpCall | None:
        found = self.consumers.get(tensor, [])
        return found[0] if len(found) == 1 and tensor not in self.outputs else None

    def is_pass_through(self, op: OpCall, tensor: int) -> bool:
        """``op`` rescales ``tensor`` elementwise and keeps its shape (batch norm, activation)."""
        return (op.category in PASS_THROUGH_CATEGORIES and bool(op.inputs) and op.inputs[0] == tensor
                and bool(op.output_shapes) and op.output_shapes[0] == op.input_shapes[0])

    def forward_through(self, tensor: int) -> int:
        """The tensor at the end of the chain of pass-through ops that alone consume ``tensor``."""
        while (op := self.only_consumer(tensor)) is not None and self.is_pass_through(op, tensor):
            tensor = op.outputs[0]
        return tensor

    def merge_after(self, tensor: int) -> OpCall | None:
        """The concatenation or addition the result ``tensor`` flows into, through pass-throughs and
        the further convolutions of its branch (each the only consumer of what it takes)."""
        for _ in range(len(self.ops)):
            op = self.only_consumer(self.forward_through(tensor))
            if op is None:
                return None
            if op.op.startswith(MERGE_OPS):
                return op
            if not op.op.startswith(CONVOLUTION) or not op.outputs:
                return None
            tensor = op.outputs[0]
        return None

    # -- module calls ---------------------------------------------------------------------------
    @cached_property
    def children(self) -> dict[int, list[LayerCall]]:
        found: dict[int, list[LayerCall]] = {}
        for call in self.calls:
            if call.parent is not None:
                found.setdefault(call.parent, []).append(call)
        return found

    def is_within(self, call: LayerCall, ancestor: LayerCall) -> bool:
        while call is not None:
            if call.index == ancestor.index:
                return True
            call = self.calls[call.parent] if call.parent is not None else None
        return False

    @cached_property
    def own_ops(self) -> dict[int, list[OpCall]]:
        """Call index → the ops that ran in that call's own ``forward`` (not in a call inside it)."""
        found: dict[int, list[OpCall]] = {}
        for op in self.ops:
            found.setdefault(op.layer, []).append(op)
        return found

    @cached_property
    def _subtree_end(self) -> list[int]:
        """Calls are numbered in pre-order, so a call's subtree is the index range [call, end)."""
        end = [call.index + 1 for call in self.calls]
        for call in reversed(self.calls):
            if call.parent is not None:
                end[call.parent] = max(end[call.parent], end[call.index])
        return end

    def subtree_ops(self, call: LayerCall) -> list[OpCall]:
        """The ops that ran while ``call`` was open, in its forward or in calls inside it."""
        return [op for index in range(call.index, self._subtree_end[call.index]) for op in self.own_ops.get(index, ())]

    @cached_property
    def main_calls(self) -> list[LayerCall]:
        """The main path as module calls, one row per step: a call is opened up into its children
        (with ops of its own between them, ``F.relu``, a flatten) lead from its input to its output
        one main-path tensor at a time (a ``Sequential``, a conv + BN + ReLU unit); a call that holds
        branches or a skip connection (an Inception block, a residual block) stays one step, as does
        a leaf."""
        if not self.calls or self.sink is None:
            return []
        return self._steps(self.calls[0], self.sink)

    def _steps(self, call: LayerCall, end: int) -> list[LayerCall]:
        chain = self._chain(call, end)
        if chain is None:
            return [call]
        return [step for child in chain for step in self._steps(child, child.outputs[0].tensor_id)]

    def _chain(self, call: LayerCall, end: int) -> list[LayerCall] | None:
        """The children of ``call`` that lead to ``end`` step by step along the main path, or None."""
        children = self.children.get(call.index)
        if not children:
            return None
        starts = {spec.tensor_id for spec in call.inputs}
        own = {tensor: op for op in self.own_ops.get(call.index, []) for tensor in op.outputs}
        chain: list[LayerCall] = []
        tensor, bound = end, len(self.calls)
        while tensor not in starts:
            child = next((c for c in reversed(children) if c.index < bound and c.outputs
                          and c.outputs[0].tensor_id == tensor), None)
            if child is not None:
                chain.append(child)
                bound = child.index
                inputs = [spec.tensor_id for spec in child.inputs]
            elif tensor in own:  # an F.relu or a flatten between two children
                inputs = list(own[tensor].inputs)
            else:
                return None
            inputs = [t for t in inputs if t in self.from_inputs_tensors]
            if len(inputs) != 1 or inputs[0] not in self.main_path:
                return None
            if inputs[0] == tensor and child is None:
                return None
            tensor = inputs[0]
        return list(reversed(chain))

    @cached_property
    def leaf_producers(self) -> dict[int, list[LayerCall]]:
        """Tensor id → the leaf calls that returned it, in call order (an ``Identity`` returns its input)."""
        found: dict[int, list[LayerCall]] = {}
        for call in self.calls[1:]:
            if call.index not in self.children:
                for spec in call.outputs:
                    found.setdefault(spec.tensor_id, []).append(call)
        return found

    def call_edges(self) -> list[dict]:
        """The graph of leaf calls: ``{"source", "target", "via"}`` per input of a leaf call, where
        ``source`` is the index of the leaf call that produced it (-1: the model's input) and ``via``
        the ops outside any leaf it passed through (``aten.cat.default``, ``aten.add.Tensor``, …)."""
        edges = []
        for call in self.calls:
            if call.index in self.children or call.index == 0:
                continue
            for spec in call.inputs:
                for source, via in self._sources_of(spec.tensor_id, call):
                    edges.append({"source": source, "target": call.index, "via": list(via)})
        return edges

    def _sources_of(self, tensor: int, target: LayerCall) -> list[tuple[int, tuple[str, ...]]]:
        found: list[tuple[int, tuple[str, ...]]] = []
        todo: list[tuple[int, tuple[str, ...]]] = [(tensor, ())]
        seen: set[int] = set()
        while todo:
            tensor, via = todo.pop()
            if tensor in seen:
                continue
            seen.add(tensor)
            earlier = [call for call in self.leaf_producers.get(tensor, ()) if call.index < target.index]
            if earlier:
                found.append((earlier[-1].index, via))
            elif tensor in self.sources:
                found.append((-1, via))
            elif (op := self.producer.get(tensor)) is not None:
                todo.extend((t, (op.op, *via)) for t in op.inputs if t in self.from_inputs_tensors)
        return sorted(found)

    @cached_property
    def from_inputs_tensors(self) -> set[int]:
        """Tensors that depend on the input (not parameters or constants)."""
        return set(self.sources) | {t for index in self.from_inputs for t in self.ops[index].outputs}
