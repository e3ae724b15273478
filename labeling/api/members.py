"""Memberships: who holds which role in a library (owners only; docs/team.md, "Roles").

    GET    /api/members?library=<id>            the library's members and their roles
    PUT    /api/members/<user_id>  {role, library}  give a role (create or change)
    DELETE /api/members/<user_id>?library=<id>  take the role away

The library is the ``library`` parameter, or the current one. The last owner can be
neither removed nor demoted (409, error "last_owner").
"""

from __future__ import annotations

from django.urls import re_path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from labeling.api.access import OWNER, library_of_request
from labeling.models import Library, Membership
from labeling.selectors.roles import members_of
from labeling.services.errors import NotFoundError
from labeling.services.members import member_remove, member_set

LIBRARY_PARAM = OpenApiParameter(
    "library", int, description="The library's id; default: the current library."
)


class MemberSerializer(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["user", "username", "role", "library", "created_at"]


class MemberListSerializer(serializers.Serializer):
    library = serializers.IntegerField()
    members = MemberSerializer(many=True)


class MemberWriteSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Membership.Role.choices)
    library = serializers.IntegerField(required=False, min_value=1)


def _library(request: Request) -> Library:
    library = library_of_request(request)
    if library is None:  # no library exists yet
        raise NotFoundError("no library yet; scan one first")
    return library


class MemberListView(APIView):
    roles_required = {"GET": OWNER}

    @extend_schema(
        operation_id="members_list",
        parameters=[LIBRARY_PARAM],
        responses={200: MemberListSerializer},
    )
    def get(self, request: Request) -> Response:
        library = _library(request)
        answer = {"library": library.pk, "members": members_of(library=library)}
        return Response(MemberListSerializer(answer).data)


class MemberDetailView(APIView):
    roles_required = {"PUT": OWNER, "DELETE": OWNER}

    @extend_schema(
        request=MemberWriteSerializer,
        responses={200: MemberSerializer, 201: MemberSerializer},
    )
    def put(self, request: Request, user_id: int) -> Response:
        data = MemberWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        membership, created = member_set(
            library=_library(request), user_id=int(user_id), role=data.validated_data["role"]
        )
        answer_status = status.HTTP_201_CREATED if created else status.HTTP_200_OK
        return Response(MemberSerializer(membership).data, status=answer_status)

    @extend_schema(parameters=[LIBRARY_PARAM], responses={204: None})
    def delete(self, request: Request, user_id: int) -> Response:
        member_remove(library=_library(request), user_id=int(user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


urlpatterns = [
    re_path(r"^members/?$", MemberListView.as_view(), name="member-list"),
    re_path(r"^members/(?P<user_id>\d+)/?$", MemberDetailView.as_view(), name="member-detail"),
]
