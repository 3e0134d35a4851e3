"""`lifesign staff add|list`: the desk's staff accounts. The first operator is made here:

    lifesign staff add li.ming --role operator -c site.yaml        # prompts for the password
    lifesign staff add desk-c1 --role desk --community C1 --password-file pw.txt -c site.yaml
"""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path
from typing import Any

from app.commands.common import add_data_dir_options, data_dir
from app.messages import Complaint, Messages
from lifesign.clock import WallClock


def register(sub: Any) -> None:
    p = sub.add_parser("staff", help="staff accounts of the web desk: add, list")
    s = p.add_subparsers(dest="staff_command", required=True)
    add = s.add_parser("add", help="create a staff account (operator, desk or leader)")
    add.add_argument("name", help="the login name")
    add.add_argument("--role", required=True, choices=["operator", "desk", "leader"],
                     help="operator: everything; desk: one community; leader: one grid")
    area = add.add_mutually_exclusive_group()
    area.add_argument("--community", help="the community a desk account sees")
    area.add_argument("--grid", help="the grid a leader account sees")
    add.add_argument("--password-file", type=Path, help="read the password from this file (else: prompt)")
    listing = s.add_parser("list", help="list staff accounts")
    for q in (add, listing):
        add_data_dir_options(q)
        q.set_defaults(handler=_staff)


def _password(args: argparse.Namespace, say: Messages) -> str:
    if args.password_file is not None:
        return args.password_file.read_text(encoding="utf-8").rstrip("\r\n")
    first = getpass.getpass(say("staff.password", name=args.name))
    if getpass.getpass(say("staff.again")) != first:
        raise Complaint("staff.differ")
    return first


def _staff(args: argparse.Namespace) -> int:
    from app.web.staff import StaffRole
    from app.web_wiring import open_staff_store

    say: Messages = args.say
    folder = data_dir(args)
    folder.mkdir(parents=True, exist_ok=True)
    store = open_staff_store(folder)
    try:
        if args.staff_command == "add":
            role = StaffRole(args.role)
            area = args.community or args.grid or ""
            if (role is StaffRole.DESK and args.grid) or (role is StaffRole.LEADER and args.community):
                raise Complaint("staff.wrong_area", role=role.value,
                                option="community" if role is StaffRole.DESK else "grid")
            account = store.add(args.name, role, area, _password(args, say), WallClock().now())
            print(say("staff.created", name=account.name, role=account.role.value,
                      area=" " + account.area if account.area else ""))
        else:
            accounts = store.accounts()
            if not accounts:
                print(say("staff.none"))
            for a in accounts:
                print(say("staff.line", name=a.name, role=a.role.value, area=a.area))
        return 0
    finally:
        store.close()
