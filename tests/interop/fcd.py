"""First-class disks: the vStorageObjectManager of the service content, as pyvmomi reaches it.

usage: fcd.py GOVC_URL

Creates a disk on LocalDS_0, lists and retrieves it (its file is on the datastore), renames
it, takes, lists and deletes a snapshot, deletes the disk, and checks the NotFound vCenter
answers for it afterwards.
"""

from common import check, connect, disconnect, expect_fault, find, ok, run, vim, wait


def main(t, _opts):
    si = connect(t)
    try:
        mgr = si.content.vStorageObjectManager
        check(mgr is not None, "ServiceContent.vStorageObjectManager is unset")
        check(isinstance(mgr, vim.vslm.vcenter.VStorageObjectManager), "manager type %r" % type(mgr))
        ok("vStorageObjectManager: %s" % mgr._moId)

        ds = find(si, vim.Datastore, "LocalDS_0")
        spec = vim.vslm.CreateSpec(
            name="interop-fcd",
            capacityInMB=256,
            backingSpec=vim.vslm.CreateSpec.DiskFileBackingSpec(datastore=ds, provisioningType="thin"),
        )
        disk = wait(mgr.CreateDisk_Task(spec=spec), "CreateDisk_Task")
        check(isinstance(disk, vim.vslm.VStorageObject), "CreateDisk_Task result %r" % type(disk))
        disk_id = disk.config.id
        path = disk.config.backing.filePath
        check(path.startswith("[LocalDS_0] fcd/") and path.endswith(".vmdk"), "filePath %r" % path)
        check(disk.config.capacityInMB == 256, "capacityInMB %r" % disk.config.capacityInMB)
        ok("created %s at %s" % (disk_id.id, path))

        ids = [i.id for i in mgr.ListVStorageObject(datastore=ds)]
        check(disk_id.id in ids, "ListVStorageObject %r lacks %s" % (ids, disk_id.id))
        got = mgr.RetrieveVStorageObject(id=disk_id, datastore=ds)
        check(got.config.name == "interop-fcd", "retrieved name %r" % got.config.name)
        check(got.config.createTime is not None, "createTime unset")
        ok("listed and retrieved")

        mgr.RenameVStorageObject(id=disk_id, datastore=ds, name="interop-fcd-2")
        check(mgr.RetrieveVStorageObject(id=disk_id, datastore=ds).config.name == "interop-fcd-2", "rename")
        ok("renamed")

        sid = wait(
            mgr.VStorageObjectCreateSnapshot_Task(id=disk_id, datastore=ds, description="before"),
            "VStorageObjectCreateSnapshot_Task",
        )
        check(isinstance(sid, vim.vslm.ID), "snapshot result %r" % type(sid))
        snaps = mgr.RetrieveSnapshotInfo(id=disk_id, datastore=ds).snapshots
        check([s.description for s in snaps] == ["before"], "snapshots %r" % snaps)
        wait(mgr.DeleteSnapshot_Task(id=disk_id, datastore=ds, snapshotId=sid), "DeleteSnapshot_Task")
        check(not mgr.RetrieveSnapshotInfo(id=disk_id, datastore=ds).snapshots, "snapshot not deleted")
        ok("snapshot created, listed, deleted")

        wait(mgr.DeleteVStorageObject_Task(id=disk_id, datastore=ds), "DeleteVStorageObject_Task")
        check(disk_id.id not in [i.id for i in mgr.ListVStorageObject(datastore=ds)], "still listed")
        expect_fault(vim.fault.NotFound, mgr.RetrieveVStorageObject, id=disk_id, datastore=ds)
        ok("deleted (then NotFound)")
    finally:
        disconnect(si)


if __name__ == "__main__":
    run(main)
