"""Datastores: FileManager, /folder HTTP GET/PUT with the session cookie, HostDatastoreBrowser.

usage: datastore.py GOVC_URL
"""

import urllib.parse

from common import (
    check,
    check_vicbed,
    connect,
    datacenter,
    disconnect,
    expect_fault,
    find,
    http_request,
    ok,
    run,
    session_cookie,
    vim,
    wait,
)

BODY = b"hello from the vicbed interop suite\n"


def folder_url(path, dc="DC0", ds="LocalDS_0"):
    return "/folder/%s?%s" % (urllib.parse.quote(path), urllib.parse.urlencode({"dcPath": dc, "dsName": ds}))


def main(t, opts):
    si = connect(t)
    content = si.content
    dc = datacenter(si)
    ds = find(si, vim.Datastore, "LocalDS_0")
    check(ds in dc.datastore, "LocalDS_0 is not in DC0.datastore")
    summary = ds.summary
    check(summary.accessible and summary.capacity > 0 and 0 <= summary.freeSpace <= summary.capacity,
          "datastore summary: %s" % summary)
    check(summary.url, "datastore summary.url is empty")
    ok("LocalDS_0: type %s, capacity %d GiB, free %d GiB" % (summary.type, summary.capacity >> 30,
                                                             summary.freeSpace >> 30))

    # FileManager.MakeDirectory.
    fm = content.fileManager
    fm.MakeDirectory(name="[LocalDS_0] interop/sub", datacenter=dc, createParentDirectories=True)
    expect_fault(vim.fault.FileAlreadyExists, fm.MakeDirectory, name="[LocalDS_0] interop/sub", datacenter=dc,
                 createParentDirectories=False)
    ok("FileManager.MakeDirectory (and FileAlreadyExists)")

    # /folder PUT and GET with the session cookie.
    cookie = session_cookie(si)
    status, _, body = http_request(t, "PUT", folder_url("interop/hello.txt"), body=BODY,
                                   headers={"Cookie": cookie, "Content-Type": "application/octet-stream"})
    check(status in (200, 201), "PUT /folder/interop/hello.txt -> HTTP %d %r" % (status, body[:200]))
    status, headers, body = http_request(t, "GET", folder_url("interop/hello.txt"), headers={"Cookie": cookie})
    check(status == 200, "GET /folder/interop/hello.txt -> HTTP %d" % status)
    check(body == BODY, "GET returned %r, PUT %r" % (body, BODY))
    # pyvmomi's own echoed Set-Cookie string must work as well.
    status, _, body = http_request(t, "GET", folder_url("interop/hello.txt"), headers={"Cookie": si._stub.cookie})
    check(status == 200 and body == BODY, "GET with pyvmomi's raw cookie -> HTTP %d" % status)
    ok("/folder PUT + GET round trip (%d bytes)" % len(BODY))

    status, _, _ = http_request(t, "GET", folder_url("interop/no-such-file.txt"), headers={"Cookie": cookie})
    check(status == 404, "GET of a missing file -> HTTP %d, want 404" % status)
    status, _, _ = http_request(t, "GET", folder_url("interop/hello.txt"))
    check_vicbed(status in (401, 403), "GET without a session cookie -> HTTP %d, want 401" % status)
    status, _, _ = http_request(t, "GET", folder_url("interop/hello.txt", ds="NoSuchDS"), headers={"Cookie": cookie})
    check(status == 404, "GET on an unknown datastore -> HTTP %d, want 404" % status)
    ok("/folder: missing file 404, no cookie 401, unknown datastore 404")

    # HostDatastoreBrowser.SearchDatastore_Task finds it with details.
    spec = vim.host.DatastoreBrowser.SearchSpec(
        matchPattern=["hello.txt"],
        details=vim.host.DatastoreBrowser.FileInfo.Details(fileType=True, fileSize=True, modification=True,
                                                          fileOwner=False),
    )
    result = wait(ds.browser.SearchDatastore_Task(datastorePath="[LocalDS_0] interop", searchSpec=spec),
                  "SearchDatastore_Task")
    check(result.folderPath.rstrip("/") == "[LocalDS_0] interop", "folderPath %r" % result.folderPath)
    files = {f.path: f for f in result.file or []}
    check(list(files) == ["hello.txt"], "SearchDatastore found %s, want [hello.txt]" % list(files))
    check(files["hello.txt"].fileSize == len(BODY), "fileSize %s, want %d" % (files["hello.txt"].fileSize, len(BODY)))
    ok("SearchDatastore_Task finds hello.txt (%d bytes)" % files["hello.txt"].fileSize)

    # The same through the sub-folder search: one result per folder.
    result = wait(ds.browser.SearchDatastoreSubFolders_Task(
        datastorePath="[LocalDS_0] interop", searchSpec=vim.host.DatastoreBrowser.SearchSpec(matchPattern=["*.txt"])),
        "SearchDatastoreSubFolders_Task")
    folders = {r.folderPath.rstrip("/"): sorted(f.path for f in r.file or []) for r in result}
    check(folders == {"[LocalDS_0] interop": ["hello.txt"], "[LocalDS_0] interop/sub": []},
          "SearchDatastoreSubFolders_Task found %s" % folders)
    ok("SearchDatastoreSubFolders_Task")

    # Missing folder -> FileNotFound.
    expect_fault(vim.fault.FileNotFound, lambda: wait(
        ds.browser.SearchDatastore_Task(datastorePath="[LocalDS_0] no-such-dir", searchSpec=spec),
        "SearchDatastore_Task on a missing folder"))
    ok("SearchDatastore_Task on a missing folder -> FileNotFound")

    # Delete and check it is gone.
    wait(fm.DeleteDatastoreFile_Task(name="[LocalDS_0] interop/hello.txt", datacenter=dc), "DeleteDatastoreFile_Task")
    status, _, _ = http_request(t, "GET", folder_url("interop/hello.txt"), headers={"Cookie": cookie})
    check(status == 404, "GET after delete -> HTTP %d" % status)
    wait(fm.DeleteDatastoreFile_Task(name="[LocalDS_0] interop", datacenter=dc), "DeleteDatastoreFile_Task dir")
    ok("DeleteDatastoreFile_Task")
    disconnect(si)


if __name__ == "__main__":
    run(main)
