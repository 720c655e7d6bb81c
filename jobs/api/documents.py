"""REST API for clients: documents and their summaries (parse, call one service, render)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiRequest, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from jobs.models import Document, Summary
from jobs.services.documents import (
    DocumentInput,
    Submission,
    delete_document,
    submit_document,
    submit_documents,
)
from jobs.services.errors import NotAllowed
from jobs.services.reviews import STAFF_ONLY_LABELS, labels_of, set_labels
from jobs.services.splits import STAFF_ONLY_SPLIT, may_manage_training_data, move_to_split
from jobs.services.summaries import cancel_summary, request_summary

from . import examples
from .errors import ApiError, first_message, validation_body
from .fields import safe_name
from .labelling import DocumentLabelsSerializer, DocumentSplitSerializer
from .parsers import BATCH_PARSERS, JSONParser, LimitedMultiPartParser
from .serializers import (
    DocumentCreatedSerializer,
    DocumentInputSerializer,
    DocumentSerializer,
    FileUploadSerializer,
    SummarizeOptionsSerializer,
    SummarySerializer,
)
from .throttles import UploadThrottle
from .uploads import read_upload

UPLOAD_ACTIONS = ("create", "batch", "summarize")
_ITEM_NOT_OBJECT = "each item must be a JSON object with a 'text' field"


def _created_response(request, submissions: list[Submission], many: bool) -> Response:
    context: dict[str, dict] = {
        "summary_by_document": {s.document.pk: s.summary for s in submissions if s.summary}
    }
    # Whether a text is training data (possibly another customer's) is for staff only.
    if may_manage_training_data(request.user):
        context["duplicate_of"] = {s.document.pk: s.duplicate_of for s in submissions}
    docs = [s.document for s in submissions]
    data = DocumentCreatedSerializer(docs if many else docs[0], many=many, context=context).data
    return Response(data, status=status.HTTP_201_CREATED)


def _upload_input(request) -> DocumentInput:
    extra_files = [name for name in request.FILES if name != "file"]
    if extra_files or len(request.FILES.getlist("file")) > 1:
        errors = {safe_name(n): ["unknown field"] for n in extra_files}
        raise ApiError(
            "send exactly one file, in the 'file' field", errors or {"file": ["one file"]}
        )
    upload = FileUploadSerializer(data=request.data)
    upload.is_valid(raise_exception=True)
    file = upload.validated_data["file"]
    title, text = read_upload(file.name, file.read())
    return upload.to_input(text=text, title=upload.validated_data["title"] or title)


def _batch_inputs(data) -> list[DocumentInput]:
    if not isinstance(data, list):
        raise ApiError("send a JSON list of documents, or JSON Lines (one object per line)")
    items, errors = [], {}
    for i, obj in enumerate(data):
        if not isinstance(obj, dict):
            errors[str(i)] = [_ITEM_NOT_OBJECT]
            continue
        serializer = DocumentInputSerializer(data=obj)
        if serializer.is_valid():
            items.append(serializer.to_input())
        else:
            errors[str(i)] = validation_body(serializer.errors)["errors"] or [_ITEM_NOT_OBJECT]
    if errors:
        first = min(errors, key=int)
        raise ApiError(
            f"no document was stored: {len(errors)} item(s) invalid; first at item {first}: "
            f"{first_message(errors[first])}",
            errors,
        )
    return items


class DocumentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Documents of the authenticated user (never anyone else's); staff who may manage
    training data move and label any document (PATCH, .../labels/)."""

    serializer_class = DocumentSerializer
    queryset = Document.objects.none()  # typing hint for the schema; see get_queryset
    lookup_value_regex = "[0-9]+"
    parser_classes = [JSONParser, LimitedMultiPartParser]

    def get_queryset(self):
        documents = Document.objects.prefetch_related("summaries")
        if self.action in ("partial_update", "labels") and may_manage_training_data(
            self.request.user
        ):
            return documents
        return documents.filter(owner=self.request.user)

    def get_throttles(self):
        return [UploadThrottle()] if self.action in UPLOAD_ACTIONS else []

    @extend_schema(
        request={
            "application/json": DocumentInputSerializer,
            "multipart/form-data": OpenApiRequest(FileUploadSerializer),
        },
        responses={201: DocumentCreatedSerializer},
        examples=[examples.DOCUMENT, examples.DOCUMENT_WITH_REFERENCE],
    )
    def create(self, request):
        if request.content_type.startswith("multipart/"):
            item = _upload_input(request)
        else:
            serializer = DocumentInputSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            item = serializer.to_input()
        return _created_response(request, [submit_document(request.user, item)], many=False)

    @extend_schema(
        request={
            media_type: DocumentInputSerializer(many=True)
            for media_type in ("application/json", "application/x-ndjson", "application/jsonl")
        },
        responses={201: DocumentCreatedSerializer(many=True)},
        examples=[examples.BATCH],
    )
    @action(detail=False, methods=["post"], parser_classes=BATCH_PARSERS, pagination_class=None)
    def batch(self, request):
        """A JSON list, or a JSON Lines body (one object per line), of documents; all or
        nothing. The answer is a plain list (not paginated)."""
        items = _batch_inputs(request.data)
        return _created_response(request, submit_documents(request.user, items), many=True)

    @extend_schema(
        request=SummarizeOptionsSerializer,
        responses={202: SummarySerializer},
        examples=[examples.SUMMARIZE],
    )
    @action(detail=True, methods=["post"], parser_classes=[JSONParser])
    def summarize(self, request, pk=None):
        document = self.get_object()
        options = SummarizeOptionsSerializer(data=request.data)
        options.is_valid(raise_exception=True)
        summary = request_summary(
            document,
            request.user,
            model=options.validated_data["model"],
            max_sentences=options.validated_data["max_sentences"],
        )
        return Response(SummarySerializer(summary).data, status=status.HTTP_202_ACCEPTED)

    def perform_destroy(self, instance):
        delete_document(instance, self.request.user)

    @extend_schema(request=DocumentSplitSerializer, responses={200: DocumentSerializer})
    def partial_update(self, request, pk=None):
        """Staff with the document change permission only: move any document to another
        split (train, validation, test or "" for none); a body without `split` changes
        nothing (PATCH: the schema makes every field optional). Others get 403 and
        nothing changes."""
        if not may_manage_training_data(request.user):
            raise NotAllowed(STAFF_ONLY_SPLIT, "split")
        document = self.get_object()
        form = DocumentSplitSerializer(data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        if "split" in form.validated_data:
            move_to_split([document], form.validated_data["split"], request.user)
        document.refresh_from_db()
        return Response(DocumentSerializer(document).data)

    @extend_schema(request=DocumentLabelsSerializer, responses={200: DocumentLabelsSerializer})
    @action(detail=True, methods=["get", "post"], parser_classes=[JSONParser])
    def labels(self, request, pk=None):
        """Staff with the document change permission only: any document's labels; POST
        sets some, all or nothing: a labelled document is training data (it gets a split
        if it had none). Others get 403 (labels are shared by every copy of a text)."""
        if not may_manage_training_data(request.user):
            raise NotAllowed(STAFF_ONLY_LABELS, "labels")
        document = self.get_object()
        if request.method == "POST":
            form = DocumentLabelsSerializer(data=request.data)
            form.is_valid(raise_exception=True)
            set_labels(document, form.validated_data["labels"], request.user)
        labels = {str(i): o.label for i, o in sorted(labels_of(document).items())}
        return Response({"labels": labels})


class SummaryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Summaries of the user's documents; sentences in document order with offsets."""

    serializer_class = SummarySerializer
    queryset = Summary.objects.none()  # typing hint for the schema; see get_queryset
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return Summary.objects.filter(document__owner=self.request.user)

    @extend_schema(request=None, responses={200: SummarySerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a queued summary; 409 once it is running or finished."""
        summary = self.get_object()
        if not cancel_summary(summary, request.user):
            summary.refresh_from_db()
            raise ApiError(
                f"summary {summary.pk} is {summary.status}; only a queued summary can be cancelled",
                status_code=409,
            )
        summary.refresh_from_db()
        return Response(self.get_serializer(summary).data)
