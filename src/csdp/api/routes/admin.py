"""User administration, for admins only."""

from __future__ import annotations

from fastapi import APIRouter, Response
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from csdp.api.deps import AdminUser
from csdp.wire import UserCreated, UserOut, WireModel
from csdp.workflows import users

router = APIRouter(prefix="/admin", tags=["admin"])


class UserRequest(WireModel):
    name: str = Field(description="1 to 64 letters, digits, '.', '_', '-' or '@'.")
    admin: bool = False


@router.post("/users", status_code=201)
async def add_user(body: UserRequest, caller: AdminUser) -> UserCreated:
    """Create a user and return it with its token, which is shown only this once."""
    user, token = await run_in_threadpool(users.add_user, body.name, body.admin)
    return UserCreated(**user.model_dump(), token=token)


@router.get("/users")
def list_users(caller: AdminUser) -> list[UserOut]:
    """List every user."""
    return [user.to_wire() for user in users.list_users()]


@router.delete("/users/{name}", status_code=204)
def remove_user(name: str, caller: AdminUser) -> Response:
    """Remove the user and revoke its token; its containers expire as usual."""
    users.remove_user(name)
    return Response(status_code=204)


@router.post("/users/{name}/token")
def rotate_token(name: str, caller: AdminUser) -> UserCreated:
    """Give the user a new token; the old one stops working at once."""
    token = users.rotate_token(name)
    return UserCreated(**users.get_user(name).to_wire().model_dump(), token=token)
