from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AddOutcome(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ADD_OUTCOME_UNSPECIFIED: _ClassVar[AddOutcome]
    ADD_OUTCOME_ADDED: _ClassVar[AddOutcome]
    ADD_OUTCOME_REPLACED: _ClassVar[AddOutcome]
    ADD_OUTCOME_UNCHANGED: _ClassVar[AddOutcome]

class MilvusDeployment(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    MILVUS_DEPLOYMENT_UNSPECIFIED: _ClassVar[MilvusDeployment]
    MILVUS_DEPLOYMENT_LITE: _ClassVar[MilvusDeployment]
    MILVUS_DEPLOYMENT_STANDALONE: _ClassVar[MilvusDeployment]
    MILVUS_DEPLOYMENT_CLUSTER: _ClassVar[MilvusDeployment]
ADD_OUTCOME_UNSPECIFIED: AddOutcome
ADD_OUTCOME_ADDED: AddOutcome
ADD_OUTCOME_REPLACED: AddOutcome
ADD_OUTCOME_UNCHANGED: AddOutcome
MILVUS_DEPLOYMENT_UNSPECIFIED: MilvusDeployment
MILVUS_DEPLOYMENT_LITE: MilvusDeployment
MILVUS_DEPLOYMENT_STANDALONE: MilvusDeployment
MILVUS_DEPLOYMENT_CLUSTER: MilvusDeployment

class Image(_message.Message):
    __slots__ = ("id", "url", "vector", "added_at", "updated_at")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    VECTOR_FIELD_NUMBER: _ClassVar[int]
    ADDED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    id: int
    url: str
    vector: _containers.RepeatedScalarFieldContainer[float]
    added_at: str
    updated_at: str
    def __init__(self, id: _Optional[int] = ..., url: _Optional[str] = ..., vector: _Optional[_Iterable[float]] = ..., added_at: _Optional[str] = ..., updated_at: _Optional[str] = ...) -> None: ...

class AddImageRequest(_message.Message):
    __slots__ = ("id", "url", "include_vector")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_VECTOR_FIELD_NUMBER: _ClassVar[int]
    id: int
    url: str
    include_vector: bool
    def __init__(self, id: _Optional[int] = ..., url: _Optional[str] = ..., include_vector: _Optional[bool] = ...) -> None: ...

class AddImageResponse(_message.Message):
    __slots__ = ("image", "outcome")
    IMAGE_FIELD_NUMBER: _ClassVar[int]
    OUTCOME_FIELD_NUMBER: _ClassVar[int]
    image: Image
    outcome: AddOutcome
    def __init__(self, image: _Optional[_Union[Image, _Mapping]] = ..., outcome: _Optional[_Union[AddOutcome, str]] = ...) -> None: ...

class StreamAddImagesRequest(_message.Message):
    __slots__ = ("id", "url")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    id: int
    url: str
    def __init__(self, id: _Optional[int] = ..., url: _Optional[str] = ...) -> None: ...

class ItemFailure(_message.Message):
    __slots__ = ("id", "url", "code", "reason", "index")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    id: int
    url: str
    code: str
    reason: str
    index: int
    def __init__(self, id: _Optional[int] = ..., url: _Optional[str] = ..., code: _Optional[str] = ..., reason: _Optional[str] = ..., index: _Optional[int] = ...) -> None: ...

class StreamAddImagesResponse(_message.Message):
    __slots__ = ("received", "added", "replaced", "failed", "failures", "unchanged")
    RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ADDED_FIELD_NUMBER: _ClassVar[int]
    REPLACED_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILURES_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    received: int
    added: int
    replaced: int
    failed: int
    failures: _containers.RepeatedCompositeFieldContainer[ItemFailure]
    unchanged: int
    def __init__(self, received: _Optional[int] = ..., added: _Optional[int] = ..., replaced: _Optional[int] = ..., failed: _Optional[int] = ..., failures: _Optional[_Iterable[_Union[ItemFailure, _Mapping]]] = ..., unchanged: _Optional[int] = ...) -> None: ...

class ListImagesRequest(_message.Message):
    __slots__ = ("include_vectors", "limit", "page_size")
    INCLUDE_VECTORS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    include_vectors: bool
    limit: int
    page_size: int
    def __init__(self, include_vectors: _Optional[bool] = ..., limit: _Optional[int] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListImagesResponse(_message.Message):
    __slots__ = ("images",)
    IMAGES_FIELD_NUMBER: _ClassVar[int]
    images: _containers.RepeatedCompositeFieldContainer[Image]
    def __init__(self, images: _Optional[_Iterable[_Union[Image, _Mapping]]] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("text", "k", "nprobe", "like_url", "like_id", "include_self", "min_similarity", "exclude_ids")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    NPROBE_FIELD_NUMBER: _ClassVar[int]
    LIKE_URL_FIELD_NUMBER: _ClassVar[int]
    LIKE_ID_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_SELF_FIELD_NUMBER: _ClassVar[int]
    MIN_SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_IDS_FIELD_NUMBER: _ClassVar[int]
    text: str
    k: int
    nprobe: int
    like_url: str
    like_id: int
    include_self: bool
    min_similarity: float
    exclude_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, text: _Optional[str] = ..., k: _Optional[int] = ..., nprobe: _Optional[int] = ..., like_url: _Optional[str] = ..., like_id: _Optional[int] = ..., include_self: _Optional[bool] = ..., min_similarity: _Optional[float] = ..., exclude_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class SearchHit(_message.Message):
    __slots__ = ("id", "url", "similarity")
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    SIMILARITY_FIELD_NUMBER: _ClassVar[int]
    id: int
    url: str
    similarity: float
    def __init__(self, id: _Optional[int] = ..., url: _Optional[str] = ..., similarity: _Optional[float] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits",)
    HITS_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[SearchHit]
    def __init__(self, hits: _Optional[_Iterable[_Union[SearchHit, _Mapping]]] = ...) -> None: ...

class StatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Model(_message.Message):
    __slots__ = ("name", "pretrained", "dimension", "path", "visual_batch")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRETRAINED_FIELD_NUMBER: _ClassVar[int]
    DIMENSION_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    VISUAL_BATCH_FIELD_NUMBER: _ClassVar[int]
    name: str
    pretrained: str
    dimension: int
    path: str
    visual_batch: int
    def __init__(self, name: _Optional[str] = ..., pretrained: _Optional[str] = ..., dimension: _Optional[int] = ..., path: _Optional[str] = ..., visual_batch: _Optional[int] = ...) -> None: ...

class Index(_message.Message):
    __slots__ = ("type", "metric_type", "params")
    class ParamsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TYPE_FIELD_NUMBER: _ClassVar[int]
    METRIC_TYPE_FIELD_NUMBER: _ClassVar[int]
    PARAMS_FIELD_NUMBER: _ClassVar[int]
    type: str
    metric_type: str
    params: _containers.ScalarMap[str, str]
    def __init__(self, type: _Optional[str] = ..., metric_type: _Optional[str] = ..., params: _Optional[_Mapping[str, str]] = ...) -> None: ...

class Milvus(_message.Message):
    __slots__ = ("deployment", "version", "address")
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    deployment: MilvusDeployment
    version: str
    address: str
    def __init__(self, deployment: _Optional[_Union[MilvusDeployment, str]] = ..., version: _Optional[str] = ..., address: _Optional[str] = ...) -> None: ...

class StatsResponse(_message.Message):
    __slots__ = ("total_images", "collection_name", "model", "metric_type", "index", "milvus")
    TOTAL_IMAGES_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_NAME_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    METRIC_TYPE_FIELD_NUMBER: _ClassVar[int]
    INDEX_FIELD_NUMBER: _ClassVar[int]
    MILVUS_FIELD_NUMBER: _ClassVar[int]
    total_images: int
    collection_name: str
    model: Model
    metric_type: str
    index: Index
    milvus: Milvus
    def __init__(self, total_images: _Optional[int] = ..., collection_name: _Optional[str] = ..., model: _Optional[_Union[Model, _Mapping]] = ..., metric_type: _Optional[str] = ..., index: _Optional[_Union[Index, _Mapping]] = ..., milvus: _Optional[_Union[Milvus, _Mapping]] = ...) -> None: ...

class RemoveRequest(_message.Message):
    __slots__ = ("id",)
    ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    def __init__(self, id: _Optional[int] = ...) -> None: ...

class RemoveResponse(_message.Message):
    __slots__ = ("removed",)
    REMOVED_FIELD_NUMBER: _ClassVar[int]
    removed: bool
    def __init__(self, removed: _Optional[bool] = ...) -> None: ...
