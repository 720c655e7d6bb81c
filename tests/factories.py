import hashlib

import factory
from django.contrib.auth import get_user_model

from jobs.models import Document, JobStatus, Summary

ARTICLE = (
    "The river festival opened on Saturday with a parade of paper boats. "
    "Organisers said more than two thousand people lined the banks. "
    "A local choir sang from a barge moored near the old mill. "
    "Food stalls ran out of lemonade by the early afternoon. "
    "The festival continues until Monday evening with fireworks."
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pass-word-123")


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Document

    owner = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Document {n}")
    text = ARTICLE
    language = "en"
    sha256 = factory.LazyAttribute(lambda o: hashlib.sha256(o.text.encode()).hexdigest())


class SummaryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Summary

    document = factory.SubFactory(DocumentFactory)
    status = JobStatus.QUEUED
