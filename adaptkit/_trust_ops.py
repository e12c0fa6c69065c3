"""Which TensorFlow ops a SavedModel may run: the denylist, the allowlist of contained ops, attribute checks.

Read by :mod:`adaptkit._trust`, which walks a SavedModel's graph and asks
these rules of every op. No TensorFlow import here.
"""

from __future__ import annotations

from typing import Any, Optional

_PYTHON = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
_WRITES = {
    "WriteFile", "Save", "SaveV2", "SaveSlices", "MergeV2Checkpoints", "DumpTensor",
    "CalibrationStatisticsSaver", "DistributedSave", "CreateSummaryFileWriter",
    "CreateSummaryDbWriter", "SummaryWriter", "WriteSummary", "WriteRawProtoSummary",
    "WriteScalarSummary", "WriteHistogramSummary", "WriteImageSummary", "WriteAudioSummary",
    "WriteGraphSummary", "ImportEvent", "FlushSummaryWriter", "CloseSummaryWriter",
}
_READS = {
    "ReadFile", "MatchingFiles", "ImmutableConst", "Restore", "RestoreV2", "RestoreSlice",
    "DTensorRestoreV2", "LoadAndRemapMatrix", "GenerateVocabRemapping",
    "InitializeTableFromTextFile", "InitializeTableFromTextFileV2", "Skipgram", "RecordInput",
    "WholeFileReader", "WholeFileReaderV2", "TextLineReader", "TextLineReaderV2",
    "TFRecordReader", "TFRecordReaderV2", "FixedLengthRecordReader", "FixedLengthRecordReaderV2",
    "IdentityReader", "IdentityReaderV2", "LMDBReader",
}
_DEBUG = {"DebugIdentity", "DebugIdentityV2", "DebugIdentityV3", "DebugNanCount", "DebugNumericSummary"}
_ELSEWHERE = {"Send", "Recv", "_Send", "_Recv", "_HostSend", "_HostRecv", "RemoteCall", "WorkerHeartbeat"}
_ELSEWHERE_PREFIXES = ("Collective", "Nccl", "Infeed", "Outfeed", "Rpc", "_Rpc")
_ENVIRONMENT = {"FileSystemSetConfiguration", "GetSessionHandle", "GetSessionHandleV2", "GetSessionTensor", "DeleteSessionTensor"}

# checkpoint ops TensorFlow's own saver uses (allowed only where only the saver reaches)
_CHECKPOINT_READ = {"RestoreV2", "Restore", "RestoreSlice"}
_CHECKPOINT_WRITE = {"SaveV2", "Save", "SaveSlices", "MergeV2Checkpoints"}

# ops whose file input may be one of the SavedModel's own assets: op -> index of that input
_ASSET_READERS = {"InitializeTableFromTextFileV2": 1, "InitializeTableFromTextFile": 1, "ReadFile": 0}

# stateful ops whose effects stay inside the model (calls and control flow: their bodies are walked)
_CONTAINED = {
    # variables and resources of the model itself
    "VarHandleOp", "VarIsInitializedOp", "ReadVariableOp", "AssignVariableOp", "AssignAddVariableOp",
    "AssignSubVariableOp", "VariableShape", "DestroyResourceOp", "DisableCopyOnRead", "Variable",
    "VariableV2", "TemporaryVariable", "ReadVariableXlaSplitND", "AssignVariableXlaConcatND",
    "ResourceGather", "ResourceGatherNd", "ResourceStridedSliceAssign", "ResourceCountUpTo",
    # calls, control flow, checks
    "StatefulPartitionedCall", "If", "While", "Case", "Assert", "CheckNumerics", "CheckNumericsV2",
    "Print", "PrintV2", "Timestamp", "Empty", "DeepCopy", "DeviceIndex", "GuaranteeConst",
    # random numbers
    "RandomUniform", "RandomUniformInt", "RandomStandardNormal", "TruncatedNormal",
    "ParameterizedTruncatedNormal", "RandomGamma", "RandomPoisson", "RandomPoissonV2", "RandomShuffle",
    "RandomCrop", "Multinomial", "NonDeterministicInts", "StatefulStandardNormal",
    "StatefulStandardNormalV2", "StatefulTruncatedNormal", "StatefulUniform", "StatefulUniformFullInt",
    "StatefulUniformInt", "StatefulRandomBinomial", "RngSkip", "RngReadAndSkip", "StatelessRandomGetAlg",
    "SampleDistortedBoundingBox", "SampleDistortedBoundingBoxV2", "AllCandidateSampler",
    "LearnedUnigramCandidateSampler", "LogUniformCandidateSampler", "UniformCandidateSampler",
    "ThreadUnsafeUnigramCandidateSampler", "FixedUnigramCandidateSampler",
    # lookup tables (a table from a file: see _ASSET_READERS)
    "HashTable", "HashTableV2", "MutableHashTable", "MutableHashTableV2", "MutableHashTableOfTensors",
    "MutableHashTableOfTensorsV2", "MutableDenseHashTable", "MutableDenseHashTableV2", "AnonymousHashTable",
    "AnonymousMutableHashTable", "AnonymousMutableHashTableOfTensors", "AnonymousMutableDenseHashTable",
    "InitializeTableV2", "InitializeTableFromTextFileV2", "LookupTableFindV2", "LookupTableInsertV2",
    "LookupTableImportV2", "LookupTableExportV2", "LookupTableRemoveV2", "LookupTableSizeV2",
    # in-memory containers
    "TensorArray", "TensorArrayV2", "TensorArrayV3", "TensorArrayReadV3", "TensorArrayWriteV3",
    "TensorArrayGatherV3", "TensorArrayScatterV3", "TensorArrayConcatV3", "TensorArraySplitV3",
    "TensorArraySizeV3", "TensorArrayCloseV3", "TensorArrayGrad", "TensorArrayGradV2", "TensorArrayGradV3",
    "TensorArrayGradWithShape", "Stack", "StackV2", "StackPushV2", "StackPopV2", "StackCloseV2",
    "MutexV2", "MutexLock", "ConsumeMutexLock", "AddSparseToTensorsMap", "AddManySparseToTensorsMap",
    "TakeManySparseFromTensorsMap",
    # fused recurrent kernels (stateful for their dropout)
    "CudnnRNN", "CudnnRNNV2", "CudnnRNNV3", "CudnnRNNBackprop", "CudnnRNNBackpropV2", "CudnnRNNBackpropV3",
}
_CONTAINED_PREFIXES = ("ResourceApply", "ResourceSparseApply", "ResourceScatter")

# call and control-flow ops: how many leading inputs the called functions do not receive (If's
# condition, Case's index); functions of other ops are walked without knowing their arguments
_PASSES_INPUTS = {
    "StatefulPartitionedCall": 0, "PartitionedCall": 0, "While": 0, "StatelessWhile": 0,
    "If": 1, "StatelessIf": 1, "Case": 1, "StatelessCase": 1,
}


def _denied(op: str) -> Optional[str]:
    """Why ``op`` is refused whatever its inputs, or None."""
    if op in _PYTHON:
        return "runs Python code"
    if op in _WRITES:
        return "writes files"
    if op in _READS:
        return "reads files"
    if op in _DEBUG:
        return "sends tensors to debug URLs: files or the network"
    if op in _ELSEWHERE or op.startswith(_ELSEWHERE_PREFIXES):
        return "talks to other devices, processes or machines"
    if op in _ENVIRONMENT:
        return "reaches outside the model into TensorFlow's session or file systems"
    if "Dataset" in op or "Iterator" in op:
        return "runs a tf.data pipeline, which can read and write files or reach a data service"
    return None


def _attr_reason(node: Any) -> Optional[str]:
    """Why a node is refused for its attributes (an op that is harmless with others), or None."""
    attr = node.attr
    if node.op == "PrintV2":
        stream = attr["output_stream"].s.decode("utf-8", "replace") if "output_stream" in attr else "stderr"
        if stream.startswith("file://"):
            return f"prints to the file {stream[len('file://'):]}"
    if node.op in ("DecodeProtoV2", "EncodeProto") and "descriptor_source" in attr:
        source = attr["descriptor_source"].s.decode("utf-8", "replace")
        if source not in ("", "local://"):
            return f"reads protobuf descriptors from the file {source}"
    if node.op == "FixedUnigramCandidateSampler" and "vocab_file" in attr and attr["vocab_file"].s:
        return "reads files (its vocab_file)"
    return None


def _contained(op: str) -> bool:
    return op in _CONTAINED or op.startswith(_CONTAINED_PREFIXES)
