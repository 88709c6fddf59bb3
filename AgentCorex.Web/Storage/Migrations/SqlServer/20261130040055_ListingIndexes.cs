using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace AgentCorex.Web.Storage.Migrations.SqlServer
{
    /// <inheritdoc />
    public partial class ListingIndexes : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_jobs_owner_created",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "ix_jobs_owner_status_created",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "ix_jobs_status_created",
                table: "jobs");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_owner_created",
                table: "jobs",
                columns: new[] { "owner_key_id", "created_at", "job_id" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_owner_status_created",
                table: "jobs",
                columns: new[] { "owner_key_id", "status", "created_at", "job_id", "tool" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_owner_tool_created",
                table: "jobs",
                columns: new[] { "owner_key_id", "tool", "created_at", "job_id" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_status_created",
                table: "jobs",
                columns: new[] { "status", "created_at", "job_id", "tool" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_tool_created",
                table: "jobs",
                columns: new[] { "tool", "created_at", "job_id" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "ix_jobs_owner_created",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "ix_jobs_owner_status_created",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "ix_jobs_owner_tool_created",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "ix_jobs_status_created",
                table: "jobs");

            migrationBuilder.DropIndex(
                name: "ix_jobs_tool_created",
                table: "jobs");

            migrationBuilder.CreateIndex(
                name: "ix_jobs_owner_created",
                table: "jobs",
                columns: new[] { "owner_key_id", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_owner_status_created",
                table: "jobs",
                columns: new[] { "owner_key_id", "status", "created_at" });

            migrationBuilder.CreateIndex(
                name: "ix_jobs_status_created",
                table: "jobs",
                columns: new[] { "status", "created_at" });
        }
    }
}
